"""The roster: who can be assigned leads (reps.csv), their days off, availability and working time.

``reps`` (reps.csv as a typed DataFrame, problems at their line), ``holidays``
(holidays.csv and public-holiday calendars), ``availability`` (who can take a lead now,
and if not why and from when), ``working_time`` (SLA clocks counted in a rep's hours).

May import: ``language``.
"""
