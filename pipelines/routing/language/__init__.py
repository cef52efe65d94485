"""The rules language: everything ops write in ``routing_rules/``'s YAML, as typed models read at file:line.

``model`` (conditions, actions, side actions, holds, steps, flows, the reroute policy,
queues), ``vocabulary`` (the closed set of operators, evaluated column by column),
``templates`` (``{lead.company}`` in texts), ``problems`` (one log of problems with
"did you mean"), ``parse`` (the grammar of flow.yaml), and the declarations that reuse
it: ``tables`` (``tables:`` of flow.yaml), ``pools`` (pools.yaml), ``day2`` (day2.yaml).

May import: nothing else of ``pipelines.routing`` (it is the bottom room), only
:mod:`pipelines.sourcefile`.
"""
