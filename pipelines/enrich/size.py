"""Company size band from employees (else revenue), with thresholds that may differ by sales region.

``enrichment.yaml`` lists the bands per region in order; a company gets the first band
whose limits it is under (``employees_below``; when the headcount is unknown,
``revenue_below``), and the last band has no limits. Vectorised: one pass per band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.enrich.settings import SizeBand


def size_band(employees: pd.Series, revenue: pd.Series, sales_region: pd.Series,
              bands: dict[str, list[SizeBand]]) -> tuple[pd.Series, pd.Series]:
    """(band, basis) per row; basis is ``employees``, ``revenue`` or NULL when neither is known."""
    emp = pd.to_numeric(pd.Series(employees), errors="coerce").to_numpy(dtype=float)
    rev = pd.to_numeric(pd.Series(revenue), errors="coerce").to_numpy(dtype=float)
    region = pd.Series(sales_region).astype(object).to_numpy()
    index = pd.Series(employees).index
    band = np.full(len(emp), None, dtype=object)
    has_emp, has_rev = ~np.isnan(emp), ~np.isnan(rev)
    known = has_emp | has_rev
    for name, items in bands.items():
        rows = (region == name) if name != "default" else ~np.isin(region, [r for r in bands if r != "default"])
        todo = rows & known
        for b in items:
            if b.employees_below is None and b.revenue_below is None:
                fits = todo.copy()
            else:
                # A band without a limit for a basis never takes companies known only by that basis.
                by_emp = has_emp & (emp < b.employees_below) if b.employees_below is not None else False
                by_rev = ~has_emp & has_rev & (rev < b.revenue_below) if b.revenue_below is not None else False
                fits = todo & (by_emp | by_rev)
            band[fits] = b.band
            todo = todo & ~fits
    basis = np.where(has_emp, "employees", np.where(has_rev, "revenue", None))
    return pd.Series(band, index=index, dtype=object), pd.Series(basis, index=index, dtype=object)
