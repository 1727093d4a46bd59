"""Generated maths text for the demo corpus: arithmetic, algebra and LaTeX, all worked correctly.

Each document is a short worksheet mixing several exercise kinds, so maths tokens appear in the
contexts a prompt would use (plain equations, step-by-step solutions, LaTeX source).
"""
import math
import random
from fractions import Fraction

GREEK = ["\\alpha", "\\beta", "\\gamma", "\\theta", "\\lambda", "\\mu", "\\sigma", "\\phi", "\\omega"]
VARS = ["x", "y", "z", "t", "a", "b", "n", "k"]


def signed(c, first=False):
    if first:
        return f"{c}"
    return f"+ {c}" if c >= 0 else f"- {-c}"


def poly_str(coeffs, var="x", latex=False):
    """coeffs[i] is the coefficient of var^i; highest power first in the output."""
    terms = []
    for p in range(len(coeffs) - 1, -1, -1):
        c = coeffs[p]
        if c == 0:
            continue
        mag = abs(c)
        if p == 0:
            body = f"{mag}"
        else:
            coef = "" if mag == 1 else f"{mag}"
            powr = "" if p == 1 else (f"^{{{p}}}" if latex else f"^{p}")
            body = f"{coef}{var}{powr}"
        if not terms:
            terms.append(body if c > 0 else f"-{body}")
        else:
            terms.append(("+ " if c > 0 else "- ") + body)
    return " ".join(terms) if terms else "0"


def frac_tex(f):
    if f.denominator == 1:
        return f"{f.numerator}"
    sign = "-" if f < 0 else ""
    return f"{sign}\\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"


def arithmetic(r):
    kind = r.randrange(7)
    if kind == 0:
        a, b = r.randint(10, 9999), r.randint(10, 9999)
        return f"{a} + {b} = {a + b}"
    if kind == 1:
        a, b = r.randint(100, 9999), r.randint(10, 999)
        return f"{a} - {b} = {a - b}"
    if kind == 2:
        a, b = r.randint(2, 99), r.randint(2, 999)
        op = r.choice(["*", "×", "x"]) if r.random() < 0.5 else "*"
        return f"{a} {op} {b} = {a * b}"
    if kind == 3:
        b = r.randint(2, 40)
        a = b * r.randint(2, 300) + r.randint(0, b - 1)
        q, m = divmod(a, b)
        return f"{a} ÷ {b} = {q} remainder {m}" if m else f"{a} / {b} = {q}"
    if kind == 4:
        a, b = Fraction(r.randint(1, 9), r.randint(2, 12)), Fraction(r.randint(1, 9), r.randint(2, 12))
        return f"{a} + {b} = {a + b}"
    if kind == 5:
        p, n = r.choice([5, 10, 12, 15, 20, 25, 40, 50, 75]), r.randint(2, 80) * 4
        return f"{p}% of {n} = {Fraction(p * n, 100)}"
    b, e = r.randint(2, 12), r.randint(2, 5)
    return f"{b}^{e} = {b ** e}"


def linear_equation(r):
    x = r.randint(-12, 12)
    a = r.choice([i for i in range(-9, 10) if i not in (0,)])
    b = r.randint(-20, 20)
    c = a * x + b
    v = r.choice(VARS[:4])
    lines = [f"Solve {a}{v} {signed(b)} = {c}."]
    lines.append(f"{a}{v} = {c} {signed(-b)} = {c - b}")
    lines.append(f"{v} = {c - b} / {a} = {x}")
    lines.append(f"Check: {a}·({x}) {signed(b)} = {a * x + b}. So {v} = {x}.")
    return "\n".join(lines)


def expand_product(r):
    p, q = r.randint(-9, 9), r.randint(-9, 9)
    tex = r.random() < 0.5
    left = f"(x {signed(p)})(x {signed(q)})"
    right = poly_str([p * q, p + q, 1], latex=tex)
    if tex:
        return f"$${left} = {right}$$"
    return f"Expand {left}: x^2 {signed(p + q)}x {signed(p * q)} = {right}"


def factor_quadratic(r):
    p, q = r.randint(-9, 9), r.randint(-9, 9)
    poly = poly_str([p * q, -(p + q), 1])
    return (f"Factor {poly}.\nWe need two numbers with sum {p + q} and product {p * q}: "
            f"{p} and {q}.\n{poly} = (x {signed(-p)})(x {signed(-q)}), so x = {p} or x = {q}.")


def system(r):
    x, y = r.randint(-8, 8), r.randint(-8, 8)
    a, b, c, d = (r.choice([1, 2, 3, -1, -2, 4, 5]) for _ in range(4))
    if a * d - b * c == 0:
        d += 1
    e, f = a * x + b * y, c * x + d * y
    return (f"Solve the system:\n  {a}x {signed(b)}y = {e}\n  {c}x {signed(d)}y = {f}\n"
            f"The determinant is {a}·{d} - ({b})·({c}) = {a * d - b * c}.\n"
            f"Solution: x = {x}, y = {y}.")


def derivative(r):
    deg = r.randint(2, 5)
    coeffs = [r.randint(-9, 9) for _ in range(deg + 1)]
    coeffs[deg] = coeffs[deg] or 1
    d = [i * coeffs[i] for i in range(1, deg + 1)]
    if r.random() < 0.5:
        return (f"\\frac{{d}}{{dx}}\\left({poly_str(coeffs, latex=True)}\\right) = "
                f"{poly_str(d, latex=True)}")
    return f"d/dx ({poly_str(coeffs)}) = {poly_str(d)}"


def integral(r):
    n = r.randint(1, 6)
    a, b = 0, r.randint(1, 4)
    val = Fraction(b ** (n + 1) - a ** (n + 1), n + 1)
    return f"$$\\int_{{{a}}}^{{{b}}} x^{{{n}}}\\,dx = \\left[\\frac{{x^{{{n + 1}}}}}{{{n + 1}}}\\right]_{{{a}}}^{{{b}}} = {frac_tex(val)}$$"


def latex_identity(r):
    n = r.randint(3, 12)
    g = r.choice(GREEK)
    choices = [
        f"\\sum_{{k=1}}^{{{n}}} k = \\frac{{{n}({n}+1)}}{{2}} = {n * (n + 1) // 2}",
        f"\\sum_{{k=1}}^{{{n}}} k^{{2}} = \\frac{{{n}({n}+1)(2\\cdot {n}+1)}}{{6}} = {n * (n + 1) * (2 * n + 1) // 6}",
        f"\\binom{{{n}}}{{2}} = \\frac{{{n}!}}{{2!\\,({n}-2)!}} = {math.comb(n, 2)}",
        f"\\sin^{{2}} {g} + \\cos^{{2}} {g} = 1",
        f"e^{{i\\pi}} + 1 = 0",
        f"\\lim_{{x \\to 0}} \\frac{{\\sin {n}x}}{{x}} = {n}",
        f"\\sqrt{{{n * n}}} = {n}",
        f"(a + b)^{{2}} = a^{{2}} + 2ab + b^{{2}}",
        f"\\int_{{-\\infty}}^{{\\infty}} e^{{-x^{{2}}}}\\,dx = \\sqrt{{\\pi}}",
        f"\\prod_{{k=1}}^{{{min(n, 8)}}} k = {math.factorial(min(n, 8))}",
        f"\\det\\begin{{pmatrix}} {n} & 1 \\\\ 2 & {n - 1} \\end{{pmatrix}} = {n * (n - 1) - 2}",
        f"x = \\frac{{-b \\pm \\sqrt{{b^{{2}} - 4ac}}}}{{2a}}",
        f"\\nabla \\cdot \\mathbf{{E}} = \\frac{{\\rho}}{{\\varepsilon_{{0}}}}",
        f"\\mathbb{{E}}[X] = \\sum_{{i}} x_{{i}}\\, p_{{i}}",
        f"f'({g}) = \\lim_{{h \\to 0}} \\frac{{f({g} + h) - f({g})}}{{h}}",
    ]
    body = r.choice(choices)
    wrap = r.randrange(3)
    if wrap == 0:
        return f"${body}$"
    if wrap == 1:
        return f"\\[ {body} \\]"
    return f"\\begin{{equation}}\n  {body}\n\\end{{equation}}"


def latex_align(r):
    x = r.randint(1, 9)
    a, b = r.randint(2, 7), r.randint(1, 20)
    return ("\\begin{align*}\n"
            f"  {a}x + {b} &= {a * x + b} \\\\\n"
            f"  {a}x &= {a * x} \\\\\n"
            f"  x &= {x}\n"
            "\\end{align*}")


def theorem(r):
    n = r.randint(2, 9)
    return r.choice([
        "\\begin{theorem}\nFor every integer $n \\geq 1$, $\\sum_{k=1}^{n} (2k-1) = n^{2}$.\n\\end{theorem}\n"
        "\\begin{proof}\nBy induction on $n$. For $n = 1$ both sides equal $1$. If the claim holds for $n$, then "
        "$\\sum_{k=1}^{n+1} (2k-1) = n^{2} + 2n + 1 = (n+1)^{2}$.\n\\end{proof}",
        f"\\begin{{lemma}}\nIf $a \\mid b$ and $b \\mid c$ then $a \\mid c$.\n\\end{{lemma}}\n"
        f"For example $3 \\mid {3 * n}$ and ${3 * n} \\mid {3 * n * 2}$, so $3 \\mid {3 * n * 2}$.",
        f"Let $f(x) = x^{{{n + 2}}}$. Then $f'(x) = {n + 2}x^{{{n + 1}}}$ and $f''(x) = {(n + 2) * (n + 1)}x^{{{n}}}$.",
        f"The matrix $A = \\begin{{bmatrix}} 1 & {n} \\\\ 0 & 1 \\end{{bmatrix}}$ has $A^{{k}} = "
        f"\\begin{{bmatrix}} 1 & {n}k \\\\ 0 & 1 \\end{{bmatrix}}$ for all $k \\in \\mathbb{{N}}$.",
    ])


GENERATORS = [arithmetic, arithmetic, arithmetic, linear_equation, expand_product, factor_quadratic,
              system, derivative, integral, latex_identity, latex_identity, latex_align, theorem]
HEADINGS = ["Exercises", "Worked examples", "Practice", "Solutions", "Problem set", "Homework",
            "\\section{Exercises}", "\\subsection*{Solutions}", "% worked solutions"]


def document(r):
    parts = [r.choice(HEADINGS)]
    for i in range(r.randint(4, 14)):
        item = r.choice(GENERATORS)(r)
        if r.random() < 0.4:
            item = f"{i + 1}. {item}"
        parts.append(item)
    return "\n\n".join(parts) if r.random() < 0.5 else "\n".join(parts)


def documents(total_chars, seed):
    r = random.Random(seed)
    out, size = [], 0
    while size < total_chars:
        d = document(r)
        out.append(d)
        size += len(d)
    return out


if __name__ == "__main__":
    for d in documents(3000, 1):
        print(d, end="\n-----\n")
