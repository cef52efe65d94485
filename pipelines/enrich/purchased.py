"""Purchased firmographics: a vendor's CSV keyed by domain, merged by configured precedence.

Drop the vendor's file where ``enrichment.yaml`` says (``purchased.file``) and map its
columns to what it fills. Per field, ``prefer: crm`` only fills what the CRM leaves
empty (the default: never overwrite what a rep typed); ``prefer: vendor`` lets the
vendor's value win. Each merged value records its source: ``crm:<field>`` or the
vendor's label. The file is optional: when it is missing the run says so and goes on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.enrich.settings import Purchased
from pipelines.matching import normalise
from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, csv_header


def load_purchased(spec: Purchased, root: Path) -> pd.DataFrame | None:
    """The vendor's rows by registered ``domain`` (first row per domain wins), or None when no file."""
    path = Path(spec.file) if Path(spec.file).is_absolute() else root / spec.file
    if not path.exists():
        return None
    header = csv_header(path)
    wanted = [spec.key_column, *(f.column for f in spec.fields.values())]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ConfigError([ConfigProblem(SourceRef(str(path), 1),
                                         f"purchased data has no column(s) {missing}; it has {header}. "
                                         f"Fix purchased.fields in enrichment.yaml or the file's header.")])
    df = pd.read_csv(path, dtype=str, usecols=wanted, keep_default_na=False, encoding="utf-8")
    df = df.apply(lambda s: s.str.strip()).replace("", None)
    out = pd.DataFrame({"domain": normalise.registered_domain(df[spec.key_column])})
    for name, f in spec.fields.items():
        out[f"vendor_{name}"] = df[f.column].values
    return out.dropna(subset=["domain"]).drop_duplicates("domain")


def merge_field(crm: pd.Series, crm_source: pd.Series | str | None, vendor: pd.Series | None, prefer: str,
                label: str) -> tuple[pd.Series, pd.Series]:
    """(value, source) of one field: CRM and vendor by precedence; NULL source where both are empty."""
    crm = pd.Series(crm).astype(object)
    index = crm.index
    src = crm_source if isinstance(crm_source, pd.Series) else pd.Series(crm_source, index=index, dtype=object)
    crm_src = ("crm:" + src.astype("string")).astype(object).where(src.notna(), "crm")
    crm_src = crm_src.where(crm.notna(), None)
    if vendor is None:
        return crm, crm_src
    vendor = pd.Series(vendor, index=index).astype(object)
    vendor_src = pd.Series(label, index=index, dtype=object).where(vendor.notna(), None)
    if prefer == "vendor":
        value = vendor.where(vendor.notna(), crm)
        source = vendor_src.where(vendor.notna(), crm_src)
    else:
        value = crm.where(crm.notna(), vendor)
        source = crm_src.where(crm.notna(), vendor_src)
    return value.astype(object).where(value.notna(), None), source.astype(object).where(source.notna(), None)
