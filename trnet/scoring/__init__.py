"""Scoring of decode directories: metrics, tables, RESULTS.md and figures."""
