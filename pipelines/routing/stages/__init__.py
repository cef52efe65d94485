"""The routing stages that read and write the warehouse: first routing, backfill, what-if, explain.

``route`` (the ``routing_decision`` asset: new leads, updated leads, already owned leads),
``backfill`` (reroute the leads of a date range under the current rules), ``simulate``
(rules at a git ref against the working tree: ``leadroute diff``), ``explain`` (a lead's
decisions in words).

May import: every room above it (``language`` .. ``engine``), the ledger and the warehouse.
"""
