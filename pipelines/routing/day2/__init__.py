"""Day-2 routing: what happens after the first assignment, every tick between routing and the push.

``stage`` (the ``reroutes`` asset: holds released, owners who left, SLA misses, recycling,
wake-the-dead), ``sla`` (first-touch clocks in working hours, misses), ``recycle``
(stalled leads to nurture, dormant leads that wake up), ``decisions`` (day-2 decisions in
the engine's format). What ops declare is :mod:`pipelines.routing.language.day2`.

May import: every other room (it runs last), the ledger and the warehouse.
"""
