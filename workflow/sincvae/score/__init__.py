"""Scoring: every metric (metric_table), the per-line and per-row scores against the exact
solutions (metrics, distances, scoring), and a case over its seeds (summary)."""
