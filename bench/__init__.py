"""`make bench`: measurements of SPEC §6, written to BENCHMARKS.md."""
