"""Lookup tables: a declared table's rows (CSV or GeoJSON), and looking leads up in them, vectorised.

``files`` (rows of a table's file, each with its line), ``lookup`` (exact, prefix, suffix,
range, number range and area keys, the most specific row wins), ``geo`` (polygons),
``coverage`` (overlapping ranges, gaps, values a table must cover). Declarations are in
:mod:`pipelines.routing.language.tables`.

May import: ``language``.
"""
