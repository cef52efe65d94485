"""The Dagster face of leadroute: thin assets, checks, schedules and resources, one module per stage."""
