"""Classify: a Fellegi-Sunter model decides, the third of recordlinkage's nouns.

The model (:class:`pipelines.matching.parameters.Parameters`) gives every comparison
level a weight in bits, ``log2(m / u)``, learned from the org's own records (see
:mod:`pipelines.matching.learn`) or, for a table too small to learn from, configured
in ``routing_rules/matching.yaml``. A pair's score is the prior plus its weights; its
confidence is the matching probability ``1 / (1 + 2^-score)``.

Agreement on a value many companies share (a name like "Acme", a hosting platform's
domain, a call centre's phone, an office tower's street address) weighs less, as in
Splink's term-frequency adjustment. Frequency is counted over *companies*, not
records (the caller passes entity counts): a company present sixty times in one file
does not make its own name weak evidence of itself.

The reason names the evidence that agreed, strongest first, and any strong evidence
that disagreed: "same company domain, company name is an acronym of the other; but
different country".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.matching.compare import MISSING, Comparison, default_comparisons
from pipelines.matching.parameters import Parameters, prior_parameters
from pipelines.matching.recordlinkage_base import BaseClassifier
from pipelines.matching.settings import ModelSettings

AGREEMENT_WORDS: dict[str, dict[str, str]] = {
    "domain": {"exact": "same company domain", "label": "same domain name in another country"},
    "name": {"exact": "same company name", "close": "nearly the same company name",
             "acronym": "company name is an acronym of the other",
             "variant": "same company name written another way (abbreviated, reordered or joined)",
             "site": "one name is the other's site", "contained": "one company name contains the other",
             "subset": "one company name starts or contains the other",
             "similar": "similar company name", "partial": "company names share a word"},
    "phone": {"exact": "same phone", "local": "same phone number (area code missing or different)"},
    "email": {"exact": "same email address", "close": "nearly the same email address"},
    "birthdate": {"exact": "same date of birth", "close": "nearly the same date of birth",
                  "near": "date of birth a year or two digits off"},
    "street": {"exact": "same street address", "similar": "same house number and street",
               "other_unit": "same building", "same_street": "same street"},
    "place": {"postal": "same postal code", "city": "same city", "district": "same postal district",
              "postal_typo": "postal code a keystroke off",
              "state": "same state"},
    "country": {"exact": "same country"},
    "geo": {"same_place": "same location", "near": "within 5 km"},
    "employer": {"exact": "same employer", "similar": "same employer written another way"},
}
DISAGREEMENT_WORDS: dict[str, str] = {
    "domain": "different domain", "name": "different company name", "phone": "different phone",
    "email": "different email address", "birthdate": "another date of birth",
    "street": "different street", "place": "another city or postal code", "country": "different country",
    "geo": "far apart", "employer": "another employer",
}
def frequency_column(field: str) -> str:
    """The feature column holding how many companies share the right record's value of ``field``."""
    return f"{field}_frequency"


class WeightedClassifier(BaseClassifier):
    """Scores comparison levels with a :class:`Parameters` model; see the module docstring."""

    def __init__(self, model: ModelSettings | None = None, comparisons: list[Comparison] | None = None,
                 threshold: float = 0.8, person_address: bool = False, dedupe: bool = False,
                 parameters: Parameters | None = None):
        """``parameters``: the model to score with (default: ``model``'s configured weights)."""
        super().__init__()
        self.model = model or ModelSettings()
        self.comparisons = comparisons or default_comparisons()
        self.threshold = threshold
        self.parameters = parameters or prior_parameters(self.model, self.comparisons, "dedupe" if dedupe else "link",
                                                         person_address=person_address)
        # Within one table a value's count includes the record itself: only the others count.
        self._self_count = 1 if dedupe else 0

    # recordlinkage's classifier interface ------------------------------------------------------
    def _fit(self, *args, **kwargs):
        raise NotImplementedError("WeightedClassifier is not fitted here: pipelines.matching.learn estimates "
                                  "its parameters from the records")

    def _predict(self, comparison_vectors):  # pragma: no cover - predict() is overridden
        raise NotImplementedError

    def _prob_match(self, comparison_vectors):  # pragma: no cover - prob() is overridden
        raise NotImplementedError

    def prob(self, comparison_vectors: pd.DataFrame, return_type=None) -> pd.Series:
        return pd.Series(self.score(comparison_vectors)["confidence"].to_numpy(), index=comparison_vectors.index)

    def predict(self, comparison_vectors: pd.DataFrame) -> pd.MultiIndex:
        return comparison_vectors.index[self.prob(comparison_vectors).to_numpy() >= self.threshold]

    # the engine's interface --------------------------------------------------------------------
    def weights(self, features: pd.DataFrame) -> pd.DataFrame:
        """Each comparison's weight in bits for each pair (frequency adjustment applied)."""
        out = {}
        params = self.parameters
        cap = self.model.frequency_discount_cap
        for c in self.comparisons:
            if c.field not in features or c.field not in params.weights:
                continue
            codes = features[c.field].to_numpy(dtype=np.int64)
            w = params.weights[c.field][codes]
            freq_col = frequency_column(c.field)
            if c.frequency_level and freq_col in features:
                at = codes == c.code(c.frequency_level)
                freq = pd.to_numeric(features[freq_col], errors="coerce").fillna(1).to_numpy(dtype=float)
                # A value k other companies hold is k times less telling of this one.
                shift = -np.minimum(cap, np.log2(np.maximum(freq - self._self_count, 1)))
                w = np.where(at & (w > 0), np.maximum(w + shift, 0.0), w)
            out[c.field] = w
        return pd.DataFrame(out, index=features.index)

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per pair: ``score`` (bits) and ``confidence`` (0..1)."""
        score = self.parameters.prior + self.weights(features).sum(axis=1).to_numpy()
        out = pd.DataFrame(index=features.index)
        out["score"] = np.round(score, 3)
        out["confidence"] = np.round(1.0 / (1.0 + np.exp2(-score)), 4)
        return out

    def explain(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per pair: ``reason`` (the evidence in words) and ``evidence`` (each level and its weight).

        Kept apart from :meth:`score` because words cost more than numbers: callers explain
        only the pairs they keep.
        """
        weights = self.weights(features)
        return pd.DataFrame({"reason": self._reason(features, weights), "evidence": self._evidence(features, weights)},
                            index=features.index)

    def _reason(self, features: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
        agree: list[list[str]] = [[] for _ in range(len(features))]
        against: list[list[str]] = [[] for _ in range(len(features))]
        for c in self.comparisons:
            if c.field not in weights:
                continue
            words = AGREEMENT_WORDS.get(c.field, {})
            against_word = DISAGREEMENT_WORDS.get(c.field, c.field)
            if getattr(c, "people", False):  # a person's name, not a company's ("same name, same employer")
                words = {level: w.replace("company name", "name") for level, w in words.items()}
                against_word = against_word.replace("company name", "name")
            names = np.array([words.get(level, "") for level in c.levels], dtype=object)
            said = names[features[c.field].to_numpy(dtype=np.int64)]
            w = weights[c.field].to_numpy()
            for i in np.flatnonzero((w > 0) & (said != "")):
                agree[i].append(said[i])
            for i in np.flatnonzero(w <= -2):
                against[i].append(against_word)
        text = [(", ".join(a) or "no agreeing evidence") + ("; but " + ", ".join(b) if b else "")
                for a, b in zip(agree, against)]
        return pd.Series(text, index=features.index, dtype=object)

    def _evidence(self, features: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
        parts: list[list[str]] = [[] for _ in range(len(features))]
        for c in self.comparisons:
            if c.field not in weights:
                continue
            codes = features[c.field].to_numpy(dtype=np.int64)
            w = weights[c.field].to_numpy()
            for i in np.flatnonzero(codes != c.code(MISSING)):
                parts[i].append(f"{c.field}={c.levels[codes[i]]}({w[i]:+.1f})")
        return pd.Series([" ".join(p) for p in parts], index=features.index, dtype=object)
