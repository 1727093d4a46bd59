#!/usr/bin/env python3
"""Assemble the demo model's training corpus from files Debian installs on this machine.

Five domains, each written as JSONL documents ({"text": ...}) split into train and valid:
  code   C/C++ headers and sources under /usr/include, Python modules under /usr/lib/python3*
  verse  fortune poems (songs-poems, and verse-shaped entries of the other English fortune files)
  prose  the other English fortune files' prose entries, Debian docs (README, *.txt, *.md) and the
         common licenses under /usr/share
  maths  generated: arithmetic, algebra, LaTeX (see gen_maths.py)
  multi  German, Spanish and Italian fortunes (fortunes-de, fortunes-es, fortunes-it)
Everything is deterministic for a given set of installed packages (sorted walks, fixed seeds).
Also writes spm_input.txt (one line per sentence for spm_train, domains balanced) and stats.json.
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_maths  # noqa: E402

FORTUNE_DIR = "/usr/share/games/fortunes"
# English fortune files whose entries are quotations and anecdotes in prose (verse-shaped entries
# among them go to verse). Technical ones (computers, linux, perl, IRC logs) would blur the domains.
PROSE_FORTUNES = [
    "literature", "wisdom", "people", "humorists", "love", "politics", "science", "work",
    "education", "law", "men-women", "miscellaneous", "platitudes", "tao", "kids", "medicine",
    "food", "sports", "pets", "news", "paradoxum", "goedel", "zippy", "fortunes", "magic",
]
VERSE_FORTUNES = ["songs-poems"]
# Technical English fortune files: only their verse-shaped entries are used (as verse).
TECH_FORTUNES = ["computers", "linux", "perl", "debian", "linuxcookie", "cookie", "startrek",
                 "riddles", "definitions", "drugs", "ethnic", "knghtbrd", "art"]
MULTI_FORTUNE_DIRS = {  # language -> folder installed by fortunes-<lang>
    "de": "/usr/share/games/fortunes/de",
    "es": "/usr/share/games/fortunes/es",
    "it": "/usr/share/games/fortunes/it",
}
MULTI_SKIP = {"asciiart", "computer", "debian", "linux", "translate-me"}  # art and tech chatter
CODE_EXT_C = (".h", ".hpp", ".hh", ".hxx", ".c", ".cc", ".cpp", ".cxx", ".inl", ".tcc")
MAX_DOC_CHARS = 3000  # documents are cut at line boundaries into chunks of at most this size
MAX_FILE_CHARS = 24000  # only the first part of a long file is used, so no single file dominates


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read(MAX_FILE_CHARS * 2)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    if "\x00" in text:
        return None
    return text[:MAX_FILE_CHARS]


def chunk(text, limit=MAX_DOC_CHARS):
    """Split at line boundaries into pieces of at most `limit` characters (longer lines are cut)."""
    out, cur, size = [], [], 0
    for line in text.split("\n"):
        line = line[:limit - 1]
        if size + len(line) + 1 > limit and cur:
            out.append("\n".join(cur))
            cur, size = [], 0
        cur.append(line)
        size += len(line) + 1
    if cur:
        out.append("\n".join(cur))
    return [c.strip("\n") for c in out if c.strip()]


LICENSE_WORDS = re.compile(r"copyright|license|licence|warranty|permission is hereby", re.I)


def strip_license_header(text):
    """Drop a leading comment block that is a licence notice: it is prose, not code."""
    m = re.match(r"\s*/\*.*?\*/\s*", text, re.S)
    if m and LICENSE_WORDS.search(m.group(0)):
        return text[m.end():]
    lines = text.split("\n")
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        i += 1
    if i > 0 and LICENSE_WORDS.search("\n".join(lines[:i])):
        kept = [l for l in lines[:i] if l.startswith("#!") or "coding" in l]
        return "\n".join(kept + lines[i:])
    m = re.match(r'\s*(""".*?"""|\'\'\'.*?\'\'\')\s*', text, re.S)
    if m and LICENSE_WORDS.search(m.group(0)):
        return text[m.end():]
    return text


def walk_files(roots, exts):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(exts):
                    yield os.path.join(dirpath, name)


def sample_files(paths, budget_chars, seed, transform=None):
    """Shuffle with a fixed seed and take files until `budget_chars` characters are collected."""
    paths = list(paths)
    random.Random(seed).shuffle(paths)
    docs, total = [], 0
    for p in paths:
        if total >= budget_chars:
            break
        text = read_text(p)
        if not text:
            continue
        if transform:
            text = transform(text)
        for c in chunk(text):
            if len(c) < 200:
                continue
            docs.append(c)
            total += len(c)
    return docs


def fortune_entries(path):
    text = open_full(path)
    if not text:
        return []
    return [e.strip("\n") for e in re.split(r"^%\s*$", text, flags=re.M) if e.strip()]


def open_full(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def is_verse(entry):
    """Short lines, several of them, mostly capitalised: what a poem looks like on the page."""
    body = [l for l in entry.split("\n") if l.strip() and not l.strip().startswith("--")]
    if len(body) < 4:
        return False
    lens = [len(l.expandtabs().strip()) for l in body]
    caps = sum(1 for l in body if l.strip()[:1].isupper()) / len(body)
    return max(lens) <= 60 and sum(lens) / len(lens) <= 42 and caps >= 0.6


def group_entries(entries, limit=MAX_DOC_CHARS):
    """Join consecutive short fortune entries into documents of up to `limit` characters."""
    docs, cur, size = [], [], 0
    for e in entries:
        if size + len(e) > limit and cur:
            docs.append("\n\n".join(cur))
            cur, size = [], 0
        cur.append(e)
        size += len(e) + 2
    if cur:
        docs.append("\n\n".join(cur))
    return docs


def build_domains(args):
    domains = {}
    c_docs = sample_files(walk_files(["/usr/include"], CODE_EXT_C), args.code_chars // 2, 1,
                          strip_license_header)
    py_roots = [p for p in ("/usr/lib/python3", "/usr/lib/python3.11") if os.path.isdir(p)]
    py_docs = sample_files(walk_files(py_roots, (".py",)), args.code_chars // 2, 2,
                           strip_license_header)
    domains["code"] = c_docs + py_docs

    verse, prose = [], []
    for name in VERSE_FORTUNES:
        path = os.path.join(FORTUNE_DIR, name)
        if os.path.exists(path):
            verse += fortune_entries(path)
    for name in PROSE_FORTUNES:
        path = os.path.join(FORTUNE_DIR, name)
        if not os.path.exists(path):
            continue
        for e in fortune_entries(path):
            (verse if is_verse(e) else prose).append(e)
    for name in TECH_FORTUNES:
        path = os.path.join(FORTUNE_DIR, name)
        if os.path.exists(path):
            verse += [e for e in fortune_entries(path) if is_verse(e)]
    random.Random(3).shuffle(verse)
    random.Random(4).shuffle(prose)
    domains["verse"] = group_entries(verse, limit=1000)  # small documents: a fair validation split
    doc_paths = [p for p in walk_files(["/usr/share/doc"], (".txt", ".md", ".md.gz", ".txt.gz"))]
    doc_paths += [p for p in walk_files(["/usr/share/doc"], ("",))
                  if os.path.basename(p).upper().startswith("README")]
    doc_paths += list(walk_files(["/usr/share/common-licenses"], ("",)))
    doc_paths = sorted(set(doc_paths))
    prose_docs = group_entries(prose)
    fortune_chars = sum(len(d) for d in prose_docs)
    prose_docs += sample_files(doc_paths, max(0, args.prose_chars - fortune_chars), 5)
    domains["prose"] = prose_docs

    domains["maths"] = gen_maths.documents(args.maths_chars, seed=6)

    multi = []
    for lang, folder in sorted(MULTI_FORTUNE_DIRS.items()):
        if not os.path.isdir(folder):
            print(f"note: {folder} missing (install fortunes-{lang}); multi domain without {lang}",
                  file=sys.stderr)
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if "." in name or name in MULTI_SKIP or not os.path.isfile(path):
                continue
            multi += fortune_entries(path)
    random.Random(7).shuffle(multi)
    multi_docs, size = [], 0
    for d in group_entries(multi):
        if size >= args.multi_chars:
            break
        multi_docs.append(d)
        size += len(d)
    domains["multi"] = multi_docs
    return domains


def is_valid_doc(text, share):
    """Deterministic split by content hash, so re-runs keep the same validation documents."""
    h = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)
    return (h % 1000) < share * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--code-chars", type=int, default=8_000_000)
    ap.add_argument("--prose-chars", type=int, default=6_000_000)
    ap.add_argument("--maths-chars", type=int, default=2_500_000)
    ap.add_argument("--multi-chars", type=int, default=3_000_000)
    ap.add_argument("--valid-share", type=float, default=0.05)
    ap.add_argument("--spm-chars-per-domain", type=int, default=1_500_000,
                    help="characters of each domain fed to spm_train, so no domain owns the vocab")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    domains = build_domains(args)
    stats = {}
    spm_lines = []
    for name, docs in domains.items():
        train = [d for d in docs if not is_valid_doc(d, args.valid_share)]
        valid = [d for d in docs if is_valid_doc(d, args.valid_share)]
        for split, items in (("train", train), ("valid", valid)):
            with open(os.path.join(args.out, f"{name}.{split}.jsonl"), "w", encoding="utf-8") as f:
                for d in items:
                    f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
        stats[name] = {
            "train_docs": len(train), "valid_docs": len(valid),
            "train_chars": sum(len(d) for d in train), "valid_chars": sum(len(d) for d in valid),
        }
        budget = args.spm_chars_per_domain
        for d in train:
            if budget <= 0:
                break
            for line in d.split("\n"):
                if line.strip():
                    spm_lines.append(line)
                    budget -= len(line)
    random.Random(8).shuffle(spm_lines)
    with open(os.path.join(args.out, "spm_input.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(spm_lines) + "\n")
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=2)
    for name, s in stats.items():
        print(f"{name:6s} train {s['train_docs']:6d} docs {s['train_chars']/1e6:6.2f} MB chars, "
              f"valid {s['valid_docs']:5d} docs {s['valid_chars']/1e6:5.2f} MB chars")


if __name__ == "__main__":
    main()
