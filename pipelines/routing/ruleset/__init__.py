"""The rule set: every file of ``routing_rules/`` loaded once into one typed object, and checked.

``model`` (:class:`~pipelines.routing.ruleset.model.RuleSet`: flows, tables and their rows,
pools, queues, roster, day-2 settings, the version), ``load`` (reading the folder, every
structural problem at file:line), ``checks`` (cross-references between files: what
``leadroute validate`` and the blocking ``rules_valid`` check report), ``folder`` (``leadroute
validate``: every ops-owned file of the folder, the settings of matching, enrichment and quality
too, every problem of every file in one run).

May import: ``language``, ``roster``, ``tables``, ``pools``, ``frame``.
"""
