"""What sales ops change by the hour, without a pull request: pauses (``overrides``), turns given back
(``credit``) and manual decisions. Plain Python the CLI (``leadroute rep``, ``leadroute pool credit``,
``leadroute assign``) and the Dagster ops jobs (``pipelines/defs/ops.py``) both call."""
