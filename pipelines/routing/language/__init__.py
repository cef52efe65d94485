"""The rules language: everything ops write in ``routing_rules/``'s YAML, as typed models read at file:line.

Every node is a pydantic model that reads what ops wrote and words each mistake at its
line (``node``: the base, with its file and line). ``model`` (conditions, actions, side
actions, holds, steps, flows, the reroute policy, queues), ``vocabulary`` (the closed set
of operators, evaluated column by column), ``templates`` (``{lead.company}`` in texts),
``problems`` ("did you mean", one log of problems), ``parse`` (the files flow.yaml and
queues.yaml), and the declarations that reuse the language: ``tables`` (``tables:`` of
flow.yaml), ``pools`` (pools.yaml), ``day2`` (day2.yaml). Files are read by
:func:`pipelines.sourcefile.read_settings`, like every settings file of the project.

May import: nothing else of ``pipelines.routing`` (it is the bottom room), only
:mod:`pipelines.sourcefile`.
"""
