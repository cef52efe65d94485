"""Running leadroute in production: the orgs it serves and its processes on one machine (no Dagster import)."""
