"""Showing: the figures (plots) and the report, rendered from templates/ (report)."""
