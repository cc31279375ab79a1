"""Percentiles of measured figures (relay latency, gaps between bursts),
for the demo, the end-to-end tests and bench/run.py alike.

Nearest rank: the p-th percentile of n values is the ceil(p/100 * n)-th
smallest, so it is always one of the measured values (never an average of
two), p50 <= p99 <= max, and one odd packet cannot be smoothed away. The
load generator's Dist::json() (bench/loadgen/loadgen.cpp) reports its
p50/p99 by the same rule."""

from fractions import Fraction


def percentile(values, p):
    """The p-th percentile (0 < p <= 100) of values, in any order. An empty
    list or a p out of range is an error rather than a made-up figure."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is outside (0, 100]")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    # Exact arithmetic on p as written: in floating point 7 / 100 * 100 is
    # 7.000000000000001, whose ceiling would be one rank too high.
    rank = -(-Fraction(str(p)) * len(ordered) // 100)
    return ordered[max(rank, 1) - 1]
