"""Parameters: the Fellegi-Sunter model the classifier scores with, and where each value came from.

For every comparison level the model holds *m* (how often a true match shows the
level), *u* (how often two records that are not a match show it) and the weight
``log2(m / u)`` in bits; and a *prior*, the log2 odds that two records match before
any evidence (from the match rate, the probability that two records drawn at random
are one company). A pair's score is the prior plus the weights of its levels; its
confidence is ``1 / (1 + 2^-score)``.

Each comparison says where its numbers came from (``source``):

- ``learned``: u from random record pairs, m by expectation maximisation over the
  candidate pairs (:mod:`pipelines.matching.learn`);
- ``labels``: m from pairs ops labelled as duplicates (``--labels``, the CRM's merge history);
- ``prior``: m from ``matching.yaml``'s priors (u still learned), where the data cannot
  tell, e.g. a comparison every blocking rule depends on;
- ``pinned``: a weight written in ``matching.yaml`` under ``model.weights``;
- ``small table``: too few records to learn from, so ``matching.yaml``'s weights and
  ``model.prior`` decide (the behaviour of a fixed model).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.matching.compare import MISSING, Comparison, default_comparisons
from pipelines.matching.levels import LEVELS
from pipelines.matching.versions import LEARNING_METHOD
from pipelines.matching.settings import ModelSettings


@dataclass
class Parameters:
    """The model for one kind of matching (``dedupe``: a table against itself; ``link``: leads to accounts)."""

    kind: str
    levels: dict[str, tuple[str, ...]]
    weights: dict[str, np.ndarray]  # per comparison, one weight per level in level order ("missing" is 0)
    prior: float
    source: dict[str, str]
    m: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    match_rate: float | None = None
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def learned(self) -> bool:
        return self.match_rate is not None

    def weight(self, field_: str, level: str) -> float:
        return float(self.weights[field_][self.levels[field_].index(level)])

    def table(self) -> pd.DataFrame:
        """One row per comparison level: m, u, weight and source; what ``--explain-params`` prints."""
        rows = []
        for f, levels in self.levels.items():
            for i, level in enumerate(levels):
                if level == MISSING:
                    continue
                rows.append({
                    "comparison": f, "level": level,
                    "m": float(self.m[f][i]) if f in self.m else None,
                    "u": float(self.u[f][i]) if f in self.u else None,
                    "weight": round(float(self.weights[f][i]), 2), "source": self.source.get(f, ""),
                })
        return pd.DataFrame(rows)

    def describe(self) -> list[str]:
        """A few lines for people: how the model was made, then its table."""
        head = f"{self.kind} model: "
        if self.learned:
            head += (f"learned from {int(self.stats.get('records_left', 0)):,} x "
                     f"{int(self.stats.get('records_right', 0)):,} records; match rate {self.match_rate:.3g} "
                     f"(prior {self.prior:+.1f} bits), ")
            if "standing_for" in self.stats:
                head += (f"m and u from {int(self.stats.get('em_pairs', 0)):,} pairs standing for all "
                         f"{int(self.stats['standing_for']):,}")
            else:
                head += (f"u from {int(self.stats.get('random_pairs', 0)):,} random pairs, m from "
                         f"{int(self.stats.get('em_pairs', 0)):,} candidate pairs")
        else:
            head += f"the configured weights with prior {self.prior:+.1f} bits"
        return [head, *self.notes]

    # storage in the warehouse ----------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        out = self.table()
        out.insert(0, "kind", self.kind)
        out["prior"] = self.prior
        out["match_rate"] = self.match_rate
        out["notes"] = json.dumps(self.notes)
        out["stats"] = json.dumps(self.stats)
        return out

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, comparisons: list[Comparison]) -> Parameters:
        """The parameters stored by :meth:`to_frame`, in the order of ``comparisons``' levels."""
        first = frame.iloc[0]
        levels = {c.field: c.levels for c in comparisons}
        weights, m, u, source = {}, {}, {}, {}
        for c in comparisons:
            rows = frame[frame["comparison"] == c.field].set_index("level")
            weights[c.field] = np.array([rows["weight"].get(lv, 0.0) if lv != MISSING else 0.0 for lv in c.levels])
            if rows["m"].notna().all() and len(rows):
                m[c.field] = np.array([rows["m"].get(lv, np.nan) for lv in c.levels], dtype=float)
                u[c.field] = np.array([rows["u"].get(lv, np.nan) for lv in c.levels], dtype=float)
            source[c.field] = str(rows["source"].iloc[0]) if len(rows) else "prior"
        rate = first["match_rate"]
        return cls(kind=str(first["kind"]), levels=levels, weights=weights, prior=float(first["prior"]),
                   source=source, m=m, u=u, match_rate=None if pd.isna(rate) else float(rate),
                   notes=json.loads(first["notes"] or "[]"), stats=json.loads(first["stats"] or "{}"))


def prior_parameters(model: ModelSettings, comparisons: list[Comparison], kind: str, *,
                     person_address: bool = False, note: str | None = None) -> Parameters:
    """The configured weights with ``model.prior``: the model when there is too little to learn from."""
    table = model.weight_table(person_address)
    levels = {c.field: c.levels for c in comparisons}
    weights = {c.field: np.array([table.get(c.field, {}).get(lv, 0.0) for lv in c.levels]) for c in comparisons}
    source = {c.field: ("pinned" if c.field in model.weights else "small table") for c in comparisons}
    return Parameters(kind, levels, weights, model.prior, source, notes=[note] if note else [])


def bits(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.log2(np.maximum(m, 1e-12) / np.maximum(u, 1e-12))


# The warehouse's copy: the model learned at the last rebuild, reused until the data or the settings change.
def settings_hash(*parts: object) -> str:
    """A short fingerprint of the settings a model was learned with (a change means: learn again).

    The comparisons' levels are part of it: a model stored before a level was added has no weight
    for it, and is learned again rather than read with a weight of 0. So is :data:`~pipelines.matching.versions.LEARNING_METHOD`.
    """
    text = json.dumps([LEARNING_METHOD, LEVELS] + [p.model_dump() if hasattr(p, "model_dump") else p for p in parts], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save(con, params: Parameters, fingerprint: str, now) -> None:
    """Replace the stored model of ``params.kind`` (table ``matching_parameters``)."""
    frame = params.to_frame().assign(settings_hash=fingerprint, _learned_at=now)
    con.execute("DELETE FROM matching_parameters WHERE kind = ?", [params.kind])
    con.register("_params", frame)
    try:
        con.execute("INSERT INTO matching_parameters BY NAME SELECT * FROM _params")
    finally:
        con.unregister("_params")


def load(con, kind: str, comparisons: list[Comparison], fingerprint: str | None = None) -> Parameters | None:
    """The stored model of ``kind``, or None when there is none (or it was learned with other settings)."""
    frame = con.execute("SELECT * FROM matching_parameters WHERE kind = ?", [kind]).df()
    if frame.empty or (fingerprint is not None and frame["settings_hash"].iloc[0] != fingerprint):
        return None
    return Parameters.from_frame(frame, comparisons)


def stored_models(con) -> str:
    """The stored models as markdown: how each was made, then its table (for people and the UI)."""
    parts = []
    for kind in ("dedupe", "link"):
        params = load(con, kind, default_comparisons())
        if params is None:
            parts.append(f"**{kind}**: not learned yet")
            continue
        lines = params.describe()
        table = params.table().fillna("")
        parts.append(f"**{lines[0]}**\n\n" + "".join(f"- {n}\n" for n in lines[1:]) + "\n"
                     + table.to_markdown(index=False, floatfmt=".4g"))
    return "\n\n".join(parts)
