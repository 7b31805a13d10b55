"""Deciding: the statistics of the claims and the ranking (stats, bootstrap), their power, and
the Findings as data for the templates (findings)."""
