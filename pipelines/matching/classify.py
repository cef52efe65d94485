"""Classify: a weighted (Fellegi-Sunter style) model decides, the third of recordlinkage's nouns.

Every comparison level carries a weight in bits, log2 of how much more often a
true match shows it than a non-match (``routing_rules/matching.yaml`` may
override any of them). A pair's score is the prior plus its weights; its
confidence is the matching probability ``1 / (1 + 2^-score)``. Agreement on a
value many accounts share (a name like "Acme", a hosting platform's domain)
weighs ``log2(share count)`` bits less, as in Splink's term-frequency adjustment.

Why weights and not recordlinkage's ECM: on the generator's labelled data
(``leadroute eval matching --ecm``) ECM, fitted on the same candidate pairs with
binary agree/disagree features, reached lead-to-account F1 0.989 (5,000 accounts,
2,000 leads) and 0.986 (20,000 / 5,000) against 0.998 and 0.999 for the weights,
with lower precision (0.977 vs 1.000); a five-minute tick with five new leads has
too few pairs to fit anything; and weights are what makes a reason readable.

The reason names the evidence that agreed, strongest first, and any strong evidence
that disagreed: "same company domain, company name is an acronym of the other; but
different country".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from recordlinkage.base import BaseClassifier

from pipelines.matching.compare import MISSING, Comparison, default_comparisons
from pipelines.matching.settings import ModelSettings

AGREEMENT_WORDS: dict[str, dict[str, str]] = {
    "domain": {"exact": "same company domain", "label": "same domain name in another country"},
    "name": {"exact": "same company name", "close": "nearly the same company name",
             "acronym": "company name is an acronym of the other", "subset": "one company name contains the other",
             "similar": "similar company name"},
    "phone": {"exact": "same phone"},
    "street": {"exact": "same street address", "similar": "similar street address"},
    "postal_code": {"exact": "same postal code", "district": "same postal district"},
    "city": {"exact": "same city", "similar": "same city"},
    "state": {"exact": "same state"},
    "country": {"exact": "same country"},
    "geo": {"same_place": "same location", "near": "within 5 km"},
}
DISAGREEMENT_WORDS: dict[str, str] = {
    "domain": "different domain", "name": "different company name", "phone": "different phone",
    "street": "different street", "postal_code": "different postal code", "country": "different country",
    "geo": "far apart", "state": "different state", "city": "different city",
}
FREQUENCY_OF = {"name": "name_frequency", "domain": "domain_frequency"}


class WeightedClassifier(BaseClassifier):
    """Scores comparison levels with configured weights; see the module docstring."""

    def __init__(self, model: ModelSettings | None = None, comparisons: list[Comparison] | None = None,
                 threshold: float = 0.8, person_address: bool = False, dedupe: bool = False):
        super().__init__()
        # Within one table a value's count includes the record itself: only the others count.
        self._self_count = 1 if dedupe else 0
        self.model = model or ModelSettings()
        self.comparisons = comparisons or default_comparisons()
        self.threshold = threshold
        table = self.model.weight_table(person_address)
        self._weights = {c.field: np.array([table.get(c.field, {}).get(lvl, 0.0) for lvl in c.levels])
                         for c in self.comparisons}

    # recordlinkage's classifier interface ------------------------------------------------------
    def _fit(self, *args, **kwargs):
        raise NotImplementedError("WeightedClassifier is configured, not fitted: set weights in matching.yaml")

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
        """Each comparison's weight in bits for each pair (frequency discount applied)."""
        out = {}
        cap = self.model.frequency_discount_cap
        for c in self.comparisons:
            if c.field not in features:
                continue
            codes = features[c.field].to_numpy(dtype=np.int64)
            w = self._weights[c.field][codes]
            freq_col = FREQUENCY_OF.get(c.field)
            if freq_col in features:
                freq = features[freq_col].to_numpy(dtype=float) - self._self_count
                w = np.where(w > 0, w - np.minimum(cap, np.log2(np.maximum(freq, 1))), w)
            out[c.field] = w
        return pd.DataFrame(out, index=features.index)

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per pair: ``score`` (bits) and ``confidence`` (0..1)."""
        score = self.model.prior + self.weights(features).sum(axis=1).to_numpy()
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
        agree = pd.Series("", index=features.index, dtype=object)
        against = pd.Series("", index=features.index, dtype=object)
        for c in self.comparisons:
            if c.field not in weights:
                continue
            levels = np.array(c.levels, dtype=object)[features[c.field].to_numpy(dtype=np.int64)]
            words = pd.Series(levels, index=features.index).map(AGREEMENT_WORDS.get(c.field, {})).fillna("")
            w = weights[c.field]
            agree = _append(agree, words.where(w > 0, ""))
            against = _append(against, pd.Series(DISAGREEMENT_WORDS.get(c.field, ""), index=features.index)
                              .where(w <= -2, ""))
        reason = agree.where(agree != "", "no agreeing evidence")
        return reason.where(against == "", reason + "; but " + against)

    def _evidence(self, features: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
        text = pd.Series("", index=features.index, dtype=object)
        for c in self.comparisons:
            if c.field not in weights:
                continue
            levels = pd.Series(np.array(c.levels, dtype=object)[features[c.field].to_numpy(dtype=np.int64)],
                               index=features.index)
            part = c.field + "=" + levels + "(" + weights[c.field].map("{:+.1f}".format) + ")"
            text = _append(text, part.where(levels != MISSING, ""), sep=" ")
        return text


def _append(acc: pd.Series, part: pd.Series, sep: str = ", ") -> pd.Series:
    both = (acc != "") & (part != "")
    return (acc + np.where(both, sep, "") + part).astype(object)
