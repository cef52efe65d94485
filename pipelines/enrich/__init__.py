"""Enrich: derived and offline reference-data fields that matching and routing use."""
