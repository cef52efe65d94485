"""leadroute: inbound leads reach the right sales rep fast, and none is lost.

Only ``pipelines.definitions`` and ``pipelines.defs`` import Dagster; every other
package is plain Python that the ``leadroute`` CLI, the tests and a notebook use
directly.
"""
