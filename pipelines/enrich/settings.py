"""``routing_rules/enrichment.yaml``: sales regions, size bands, Puerto Rico, purchased data.

Example::

    version: 1
    puerto_rico: state        # state: a PR lead is country US, state PR; country: PR is a country
    fill_country_from_phone: true   # a lead with no country takes its phone number's
    regions:                  # first match wins; ISO codes, continents or UN subregions
      NA: [US, CA]
      LATAM: [Latin America and the Caribbean]
      EMEA: [Europe, Africa, Western Asia]
      APAC: [Asia, Oceania]
    size_bands:               # first band whose limits hold; employees first, else revenue
      default:
        - {band: SMB, employees_below: 100, revenue_below: 10000000}
        - {band: Mid-Market, employees_below: 1000, revenue_below: 250000000}
        - {band: Enterprise}
      EMEA:                   # a region may have its own thresholds
        - {band: SMB, employees_below: 50, revenue_below: 5000000}
        - ...
    purchased:                # firmographics a data vendor delivers, keyed by domain
      file: data/reference/firmographics.csv   # relative to the project (the rules folder's parent)
      key: domain
      fields:                 # company_<field> <- vendor column; prefer: crm (fill gaps) or vendor
        industry: {column: industry, prefer: crm}
        employees: {column: employees, prefer: crm}

Loaded and validated once; errors name the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, locate, read_settings

PURCHASABLE = ("industry", "employees", "revenue", "naics_code", "country", "state", "postal_code")


class SizeBand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    band: str
    employees_below: int | None = Field(default=None, gt=0)
    revenue_below: float | None = Field(default=None, gt=0)


class PurchasedField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    prefer: Literal["crm", "vendor"] = "crm"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value):
        return {"column": value} if isinstance(value, str) else value


class Purchased(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    key: Literal["domain"] = "domain"
    key_column: str = "domain"
    label: str = "purchased"
    fields: dict[str, PurchasedField]

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: dict[str, PurchasedField]) -> dict[str, PurchasedField]:
        unknown = sorted(set(fields) - set(PURCHASABLE))
        if unknown:
            raise ValueError(f"cannot buy {unknown}; purchasable fields are {', '.join(PURCHASABLE)}")
        return fields


def _default_bands() -> dict[str, list[SizeBand]]:
    return {"default": [SizeBand(band="SMB", employees_below=100, revenue_below=10_000_000),
                        SizeBand(band="Mid-Market", employees_below=1000, revenue_below=250_000_000),
                        SizeBand(band="Enterprise")]}


class EnrichmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    puerto_rico: Literal["state", "country"] = "state"
    fill_country_from_phone: bool = True  # a lead without a country takes its phone's (recorded as the source)
    regions: dict[str, list[str]] = Field(default_factory=dict)
    size_bands: dict[str, list[SizeBand]] = Field(default_factory=_default_bands)
    purchased: Purchased | None = None
    source: str = Field(default="enrichment.yaml", exclude=True)

    @field_validator("size_bands")
    @classmethod
    def _bands(cls, bands: dict[str, list[SizeBand]]) -> dict[str, list[SizeBand]]:
        if "default" not in bands:
            raise ValueError("size_bands needs a `default` list (used where no region has its own)")
        for region, items in bands.items():
            if not items:
                raise ValueError(f"size_bands.{region} is empty")
            last = items[-1]
            if last.employees_below is not None or last.revenue_below is not None:
                raise ValueError(f"size_bands.{region}: the last band ({last.band}) must have no limits, "
                                 f"so every company gets a band")
        return bands

    def project_root(self) -> Path:
        return Path(self.source).resolve().parent.parent


def _region_problems(settings: EnrichmentSettings, data: dict, file: str) -> list[ConfigProblem]:
    from pipelines.enrich.geo import region_vocabulary

    vocab = region_vocabulary()
    out = []
    for region, items in settings.regions.items():
        for i, item in enumerate(items):
            if item not in vocab:
                out.append(ConfigProblem(SourceRef(file, locate(data, ("regions", region, i))),
                                         f"regions.{region}: {item!r} is not an ISO country code, a continent "
                                         f"or a UN subregion (e.g. US, Europe, Western Asia)"))
    for region in settings.size_bands:
        if region != "default" and region not in settings.regions:
            out.append(ConfigProblem(SourceRef(file, locate(data, ("size_bands", region))),
                                     f"size_bands.{region}: no such region under `regions:`"))
    return out


def load_enrichment_settings(path: str | Path) -> EnrichmentSettings:
    """Load ``enrichment.yaml``; a missing file means the defaults."""
    path = Path(path)
    settings, data = read_settings(path, EnrichmentSettings, missing_ok=True, values={"source": str(path)})
    problems = _region_problems(settings, data, str(path))
    if problems:
        raise ConfigError(problems)
    return settings
