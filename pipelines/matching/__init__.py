"""Matching: normalise, account master (dedup + hierarchy), lead-to-account and lead-to-lead."""
