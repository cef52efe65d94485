"""Routing KPIs: how well leads reach reps, computed from the warehouse, for the `kpis` asset and `leadroute report`."""
