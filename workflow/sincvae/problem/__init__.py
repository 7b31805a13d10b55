"""The problem: straight lines in the box, the sinusoidal maps of them, the data files, and
every exact solution of a y (the truth each generated line is scored against)."""
