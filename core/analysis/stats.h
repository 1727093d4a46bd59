// Small statistics helpers the metrics need: percentiles as numpy computes them, chi-square and
// normal tail probabilities for the significance of per-expert tag preferences.
#pragma once

#include <span>

namespace moescope::analysis {

// q in [0, 100]; linear interpolation between closest ranks, numpy.percentile's default
// ("linear", Hyndman-Fan type 7). NaN for an empty input; NaN values are ignored.
double percentile(std::span<const double> values, double q);

// Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x >= 0.
double regularized_gamma_q(double a, double x);

// P(X >= chi2) for X ~ chi-square with `dof` degrees of freedom (dof >= 1).
double chi_square_upper_tail(double chi2, int dof);

// P(|Z| >= |z|) for Z ~ N(0, 1).
double normal_two_sided_p(double z);

}  // namespace moescope::analysis
