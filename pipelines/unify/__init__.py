"""Unify: scattered CRM fields -> one canonical, typed column each, with provenance."""
