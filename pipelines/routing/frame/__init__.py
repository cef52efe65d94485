"""The routing frame: one row per lead, with every field a rule may name, built in DuckDB.

``build`` (the frame and :func:`~pipelines.routing.frame.build.available_fields`, the same
list the rules checker accepts), ``lead_history`` (owners, reroutes, meetings, tasks as
``lead.*`` fields), ``update`` (which decided leads changed a watched field, with its prior
value).

May import: ``language`` (nothing of routing's rules or engine: the checker imports this room).
"""
