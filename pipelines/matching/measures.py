"""Measures of a deduplication or a linkage against labelled truth, and why each error happened.

``leadroute eval dedupe`` / ``eval link`` print these for any labelled CSV:

- **pairwise** precision, recall and F1 (every pair of records put together, or a
  lead's link), and **B-cubed** (per record: the share of its predicted cluster that
  is truly its own, and of its true cluster that was found), which does not let one
  huge cluster drown the rest;
- **blocking pairs completeness**: the share of true pairs each blocking rule proposed,
  and all rules together: a pair never proposed can never be found;
- **errors by cause**: a missed pair was never proposed (*blocking miss*), ruled out by
  a rule of the field (*ruled out: ...*), scored below the threshold (*below
  threshold*), or scored above it but kept apart by clustering (*kept apart*); a wrong
  pair was scored above the threshold itself (*direct*) or joined through others
  (*chain*); with examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.matching.index import BlockingRule


@dataclass
class PRF:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, tp: float, fp: float, fn: float) -> PRF:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return cls(p, r, 2 * p * r / (p + r) if p + r else 0.0)

    def line(self, name: str) -> str:
        return f"{name:<26} precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}"


def _pairs(counts: np.ndarray) -> float:
    c = counts.astype(float)
    return float((c * (c - 1) / 2).sum())


def pairwise(truth: np.ndarray, predicted: np.ndarray) -> PRF:
    """Pairwise precision and recall of a clustering (a truth and a predicted label per record)."""
    frame = pd.DataFrame({"t": truth, "p": predicted})
    tp = _pairs(frame.groupby(["t", "p"]).size().to_numpy())
    pred = _pairs(frame.groupby("p").size().to_numpy())
    true = _pairs(frame.groupby("t").size().to_numpy())
    return PRF.of(tp, pred - tp, true - tp)


def bcubed(truth: np.ndarray, predicted: np.ndarray) -> PRF:
    """B-cubed precision and recall: averaged over records, so every record counts once."""
    frame = pd.DataFrame({"t": truth, "p": predicted})
    both = frame.groupby(["t", "p"])["t"].transform("size").to_numpy(dtype=float)
    p = float((both / frame.groupby("p")["p"].transform("size").to_numpy()).mean()) if len(frame) else 1.0
    r = float((both / frame.groupby("t")["t"].transform("size").to_numpy()).mean()) if len(frame) else 1.0
    return PRF(p, r, 2 * p * r / (p + r) if p + r else 0.0)


def true_pairs(truth: np.ndarray, limit: int = 5_000_000) -> pd.DataFrame:
    """Every pair of positions (``a < b``) with the same truth label (at most ``limit``, sampled)."""
    frame = pd.DataFrame({"t": truth, "i": np.arange(len(truth))})
    frame = frame[frame["t"].notna() & (frame["t"].astype(str) != "")]
    groups = [g for g in frame.groupby("t")["i"] if len(g[1]) > 1]
    parts = []
    for _, idx in groups:
        pos = idx.to_numpy()
        i, j = np.triu_indices(len(pos), 1)
        parts.append(pd.DataFrame({"a": pos[i], "b": pos[j]}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"a": [], "b": []}, dtype=np.int64)
    return out.sample(limit, random_state=0) if len(out) > limit else out


def _key(a: np.ndarray, b: np.ndarray) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([np.minimum(a, b), np.maximum(a, b)])


def blocking_completeness(rules: list[BlockingRule], candidates: pd.DataFrame, truth_pairs: pd.DataFrame
                          ) -> pd.DataFrame:
    """Per rule and for all rules together: true pairs proposed, and the share of all true pairs.

    ``candidates`` hold positions in ``a``/``b`` and the ``blocked_by`` mask.
    """
    found = pd.Series(candidates["blocked_by"].to_numpy(dtype=np.int64),
                      index=_key(candidates["a"].to_numpy(), candidates["b"].to_numpy()))
    found = found[~found.index.duplicated()]
    masks = found.reindex(_key(truth_pairs["a"].to_numpy(), truth_pairs["b"].to_numpy())).fillna(0).to_numpy(np.int64)
    n = max(len(truth_pairs), 1)
    rows = [{"rule": r.label, "true_pairs_proposed": int(((masks & (1 << i)) > 0).sum()),
             "pairs_completeness": ((masks & (1 << i)) > 0).sum() / n} for i, r in enumerate(rules)]
    rows.append({"rule": "all rules", "true_pairs_proposed": int((masks > 0).sum()),
                 "pairs_completeness": (masks > 0).sum() / n})
    return pd.DataFrame(rows)


@dataclass
class DedupeEvaluation:
    pairwise: PRF
    bcubed: PRF
    records: int
    true_clusters: int
    predicted_clusters: int
    candidate_pairs: int
    completeness: pd.DataFrame
    causes: pd.DataFrame  # kind (missed/wrong), cause, pairs
    examples: pd.DataFrame  # kind, cause, left and right record text
    notes: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [self.pairwise.line("pairwise"), self.bcubed.line("B-cubed"),
                 f"{self.records:,} records: {self.true_clusters:,} true clusters, {self.predicted_clusters:,} found; "
                 f"{self.candidate_pairs:,} candidate pairs"]
        return lines + self.notes


def dedupe_errors(truth: np.ndarray, predicted: np.ndarray, candidates: pd.DataFrame, scored: pd.DataFrame,
                  threshold_bits: float, describe_record, max_examples: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs per cause, examples) for the missed and the wrong pairs of a clustering.

    ``candidates`` (``a``, ``b``) and ``scored`` (``a``, ``b``, ``score``, ``ruled_out``) hold
    positions; ``describe_record(position)`` gives a record's text for the examples.
    """
    tp = true_pairs(truth)
    cand = set(zip(np.minimum(candidates["a"], candidates["b"]).tolist(),
                   np.maximum(candidates["a"], candidates["b"]).tolist()))
    sc = scored.assign(lo=np.minimum(scored["a"], scored["b"]), hi=np.maximum(scored["a"], scored["b"]))
    sc = sc.drop_duplicates(["lo", "hi"]).set_index(["lo", "hi"])
    rows = []
    missed = tp[predicted[tp["a"].to_numpy()] != predicted[tp["b"].to_numpy()]]
    for a, b in missed.itertuples(index=False):
        key = (min(a, b), max(a, b))
        if key not in cand:
            cause = "blocking miss"
        elif key not in sc.index:
            cause = "below threshold (names too different)"
        else:
            row = sc.loc[key]
            if row["ruled_out"]:
                cause = f"ruled out: {row['ruled_out']}"
            elif row["score"] < threshold_bits:
                cause = "below threshold"
            else:
                cause = "kept apart by clustering"
        rows.append(("missed", cause, a, b))
    # Wrong pairs: predicted together, truly apart (sampled per cluster to stay small).
    frame = pd.DataFrame({"p": predicted, "t": truth, "i": np.arange(len(predicted))})
    for _, group in frame.groupby("p"):
        if group["t"].nunique() < 2:
            continue
        pos = group["i"].to_numpy()
        i, j = np.triu_indices(len(pos), 1)
        for a, b in zip(pos[i], pos[j]):
            if truth[a] == truth[b]:
                continue
            key = (min(a, b), max(a, b))
            direct = key in sc.index and sc.loc[key]["score"] >= threshold_bits
            rows.append(("wrong", "direct" if direct else "chain", a, b))
    errors = pd.DataFrame(rows, columns=["kind", "cause", "a", "b"])
    causes = errors.groupby(["kind", "cause"]).size().rename("pairs").reset_index().sort_values(
        ["kind", "pairs"], ascending=[True, False])
    examples = errors.groupby(["kind", "cause"]).head(max_examples).copy()
    examples["left"] = [describe_record(a) for a in examples["a"]]
    examples["right"] = [describe_record(b) for b in examples["b"]]
    return causes.reset_index(drop=True), examples[["kind", "cause", "left", "right"]].reset_index(drop=True)


def evaluate_dedupe(truth: np.ndarray, result, describe_record, max_examples: int = 3) -> DedupeEvaluation:
    """Score a :class:`pipelines.matching.dedupe.DedupeResult` against a truth label per record, with up to
    ``max_examples`` examples of each kind and cause of error."""
    ids = pd.Index(result.ids)
    cand = pd.DataFrame({"a": ids.get_indexer(result.candidates["l_id"]), "b": ids.get_indexer(result.candidates["r_id"]),
                         "blocked_by": result.candidates["blocked_by"].to_numpy()})
    scored = pd.DataFrame({"a": ids.get_indexer(result.scored["l_id"]), "b": ids.get_indexer(result.scored["r_id"]),
                           "score": result.scored["score"].to_numpy(), "ruled_out": result.scored["ruled_out"].to_numpy()})
    tp = true_pairs(truth)
    deduper = result.deduper
    causes, examples = dedupe_errors(truth, result.labels, cand, scored, deduper.threshold_bits, describe_record,
                                      max_examples)
    return DedupeEvaluation(
        pairwise=pairwise(truth, result.labels), bcubed=bcubed(truth, result.labels), records=len(truth),
        true_clusters=int(pd.Series(truth).nunique()), predicted_clusters=int(pd.Series(result.labels).nunique()),
        candidate_pairs=len(cand), completeness=blocking_completeness(deduper.linker.rules, cand, tp),
        causes=causes, examples=examples)


@dataclass
class LinkEvaluation:
    links: PRF
    leads: int
    with_truth: int
    candidate_pairs: int
    completeness: pd.DataFrame
    causes: pd.DataFrame
    examples: pd.DataFrame

    def describe(self) -> list[str]:
        return [self.links.line("links"),
                f"{self.leads:,} leads ({self.with_truth:,} with a true account); {self.candidate_pairs:,} candidate pairs"]


def evaluate_link(truth: np.ndarray, predicted: np.ndarray, pairs: pd.DataFrame, scored: pd.DataFrame,
                  threshold: float, rules: list[BlockingRule], describe_pair, max_examples: int = 3) -> LinkEvaluation:
    """Score links against the truth (per lead, the true account's position or -1 for none).

    ``predicted``: per lead the chosen account's position or -1; ``pairs`` the candidate pairs
    (``l_id``, ``r_id`` positions, ``blocked_by``); ``scored`` the candidates with ``confidence``;
    ``describe_pair(lead, account)`` a pair's text for the examples.
    """
    has_truth, has_pred = truth >= 0, predicted >= 0
    right = has_truth & has_pred & (truth == predicted)
    links = PRF.of(int(right.sum()), int((has_pred & ~right).sum()), int((has_truth & ~right).sum()))
    proposed = pd.Series(pairs["blocked_by"].to_numpy(dtype=np.int64),
                         index=pd.MultiIndex.from_arrays([pairs["l_id"], pairs["r_id"]]))
    lead_ids = np.flatnonzero(has_truth)
    wanted = pd.MultiIndex.from_arrays([lead_ids, truth[lead_ids]])
    masks = proposed.reindex(wanted).fillna(0).to_numpy(dtype=np.int64)
    n = max(len(lead_ids), 1)
    rows = [{"rule": r.label, "true_pairs_proposed": int(((masks & (1 << i)) > 0).sum()),
             "pairs_completeness": ((masks & (1 << i)) > 0).sum() / n} for i, r in enumerate(rules)]
    rows.append({"rule": "all rules", "true_pairs_proposed": int((masks > 0).sum()), "pairs_completeness": (masks > 0).sum() / n})
    confidence = pd.Series(scored["confidence"].to_numpy(), index=pd.MultiIndex.from_arrays([scored["l_id"], scored["r_id"]]))
    errors = []
    for lead in np.flatnonzero(~right & (has_truth | has_pred)):
        t, p = truth[lead], predicted[lead]
        if t < 0:
            errors.append(("wrong", "matched a lead that has no account", lead, p))
            continue
        key = (lead, t)
        if key not in proposed.index:
            cause = "blocking miss"
        elif confidence.get(key, 0.0) < threshold:
            cause = "below threshold"
        else:
            cause = "outranked by another account"
        errors.append(("missed" if p < 0 else "wrong", cause, lead, t if p < 0 else p))
    frame = pd.DataFrame(errors, columns=["kind", "cause", "lead", "account"])
    causes = frame.groupby(["kind", "cause"]).size().rename("leads").reset_index()
    examples = frame.groupby(["kind", "cause"]).head(max_examples).copy()
    examples["pair"] = [describe_pair(a, b) for a, b in zip(examples["lead"], examples["account"])]
    return LinkEvaluation(links, len(truth), int(has_truth.sum()), len(pairs), pd.DataFrame(rows),
                          causes, examples[["kind", "cause", "pair"]].reset_index(drop=True))
