"""Link: Index -> Compare -> Classify over two key tables, and the best link per record.

:class:`Linker` is the engine's one entry point for scoring pairs. The lead match
stage, the account master (deduplication), ``leadroute match``, ``leadroute dedupe``
and the evaluation all call it, on tables in the warehouse or on CSV files loaded
into an in-memory DuckDB, so they all make the same decisions.

Example:
    >>> linker = Linker(MatchingSettings())
    >>> linker.learn(con, KeyTable("lead_keys", "lead_id"), KeyTable("account_match_key", "account_id"))
    >>> scored = linker.score_pairs(con, KeyTable("lead_keys", "lead_id"), KeyTable("account_match_key", "account_id"))
    >>> scored[["l_id", "r_id", "confidence", "reason"]]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from pipelines.matching import learn as learning
from pipelines.matching import sites
from pipelines.matching.block_index import borrowed_blocks, kept_blocks
from pipelines.matching.classify import WeightedClassifier, frequency_column
from pipelines.matching.compare import CLEAN_TEXT, MISSING, CompareName, build_compare, default_comparisons
from pipelines.matching.index import (
    Acronym,
    BlockingRule,
    BlockOn,
    POSITIONS,
    SORTED_IDS,
    KeyTable,
    SharedWord,
    SortedNeighbourhood,
    candidate_pairs,
    rule_names,
)
from pipelines.matching.keys import EMPLOYER_KEYS, NAME_KEYS
from pipelines.matching.normalise.names import NAME_STOPWORDS
from pipelines.matching.parameters import Parameters
from pipelines.matching.settings import BlockingRuleSpec, MatchingSettings
from pipelines.warehouse import db

CHUNK_PAIRS = 1_000_000  # compare in chunks, so memory stays flat on a full master rebuild
_TEXT = [*NAME_KEYS, "domain", "domain_label", "domain_country", "email", "phone", "phone_local", "street", "house_number",
         "street_key", "unit", "city", "state", "postal_code", "country", "birthdate"]


def _select(text: list[str]) -> str:
    """The key columns Compare reads: missing text arrives as '' (cheap to test in numpy), coordinates as NaN."""
    return ", ".join([f"coalesce({c}, '') AS {c}" for c in text] + ["latitude", "longitude"])


def blocking_rules(specs: list[BlockingRuleSpec]) -> list[BlockingRule]:
    """The configured blocking rules as recordlinkage index algorithms."""
    rules: list[BlockingRule] = []
    for s in specs:
        if s.block_on:
            rules.append(BlockOn(s.block_on, max_size=s.max_size, window=s.window))
        elif s.acronym:
            rules.append(Acronym(max_size=s.max_size, window=s.window))
        elif s.words:
            rules.append(SharedWord("tokens", max_size=s.words, window=s.window, typos=s.looks_for_typos))
        elif s.address:
            rules.append(SharedWord("address_tokens", max_size=s.address, window=s.window))
        elif s.rare_tokens:
            rules.append(SharedWord("tokens", max_size=s.rare_tokens, window=s.window, per_record=s.per_record,
                                     typos=s.looks_for_typos))
        elif s.sorted_neighbourhood:
            rules.append(SortedNeighbourhood(s.sorted_neighbourhood, window=s.window))
    return rules


# What is one person's, and vouches for a person known by another name (files of people): the same email address
# (one a letter off is not: colleagues' "mark.brown@" and "mary.brown@"), the same phone, the same date of birth.
PERSONAL = {"email": ("exact",), "phone": ("exact",), "birthdate": ("exact",)}

NAMED_ONCE_AMONG = 100  # a short name one account alone holds names it, in a list at least this long...
DESIGNATOR_SHARE = 0.02  # ...its other words each held by this share of the list's companies (Linker._named_once)

VETOED_BITS = -20.0  # a pair sites.elsewhere rules out: below any candidate the model merely doubts


class Linker:
    """The configured Index, Compare and classifier, applied to pairs of key tables."""

    def __init__(self, settings: MatchingSettings, threshold: float | None = None, *, dedupe: bool = False,
                 parameters: Parameters | None = None, keep_blocks: bool = False, people: bool = False,
                 employer: bool = False):
        """``dedupe``: both sides are records of organisations (their addresses are theirs) and
        ``dedupe.blocking`` proposes the pairs; otherwise the left side is leads, weighed as
        ``link.lead_address`` says. ``parameters``: a model learned earlier (see :meth:`learn`).
        ``keep_blocks``: the right side is a warehouse table whose blocking work is kept between
        runs (:mod:`pipelines.matching.block_index`). ``people``: both sides are files of people, whose names
        are compared (see :meth:`score`); ``employer``: whose key tables also hold where each person works
        (:data:`~pipelines.matching.keys.EMPLOYER_KEYS`)."""
        self.settings = settings
        self.people = people
        self.keep_blocks = keep_blocks
        # Rules whose kept blocks of the right side this linker may read where its own rules hold the
        # same rows (the account master's deduplication reads the lead match's): see candidates().
        self.borrow_from: list[BlockingRule] | None = None
        self.dedupe = dedupe
        self.rules = blocking_rules(settings.dedupe.blocking if dedupe else settings.blocking)
        self.comparisons = default_comparisons(people=people, employer=employer)
        self._select = _select(_TEXT + (list(EMPLOYER_KEYS) if people and employer else []))
        self.comparer = build_compare(self.comparisons)
        self._generic: dict[str, frozenset[str]] = {}  # the right side's generic words, by relation
        self.person_address = not dedupe and settings.link.lead_address == "person"
        self.threshold = threshold or settings.link.threshold
        self.classifier = WeightedClassifier(settings.model, self.comparisons, threshold=self.threshold,
                                             person_address=self.person_address, dedupe=dedupe,
                                             parameters=parameters)

    @property
    def parameters(self) -> Parameters:
        return self.classifier.parameters

    def use(self, parameters: Parameters) -> None:
        """Score with ``parameters`` from now on."""
        self.classifier.parameters = parameters

    # Index ------------------------------------------------------------------------------------
    def candidates(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable) -> pd.DataFrame:
        """Candidate pairs (``l_id``, ``r_id``, ``blocked_by``); one table against itself: each pair once."""
        same = left == right
        kept = None
        if self.keep_blocks and not same:
            kept = kept_blocks(con, self.rules, right)
        elif self.borrow_from and not same:
            kept = borrowed_blocks(con, self.rules, right, self.borrow_from)
        return candidate_pairs(con, self.rules, left, right, exclude_self=self.dedupe, ordered=same, kept=kept)

    # Compare ----------------------------------------------------------------------------------
    def compare(self, con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, left: KeyTable, right: KeyTable,
                *, entities: str | None = None, fields: list[str] | None = None,
                name_levels: list[str] | None = None) -> pd.DataFrame:
        """Comparison levels (codes) of ``pairs`` with the right side's value frequencies, in chunks.

        ``entities`` names a relation (``id``, ``entity``) that groups right records into companies
        for the frequencies; ``fields`` limits the comparisons made (default: all); with
        ``name_levels``, names are compared first and only pairs whose names agree at one of
        these levels are compared further (and returned).
        """
        if pairs.empty:
            return _empty_features(self.comparisons)
        for c in self.comparisons:
            if isinstance(c, CompareName) and not c.people:  # people's names have no generic words
                c.generic = self._generic_words(con, right)
        lrec, rrec, lpos, rpos = self.records(con, pairs, left, right)
        comparisons = [c for c in self.comparisons if fields is None or c.field in fields]
        pairs = pairs.drop(columns=list(POSITIONS), errors="ignore").reset_index(drop=True)
        names = None
        if name_levels is not None:
            name = next(c for c in self.comparisons if c.field == "name")
            names = self._levels([name], lrec, rrec, lpos, rpos)["name"].to_numpy()
            keep = np.isin(names, [name.code(level) for level in name_levels])
            pairs, lpos, rpos, names = pairs[keep].reset_index(drop=True), lpos[keep], rpos[keep], names[keep]
            comparisons = [c for c in comparisons if c.field != "name"]
        features = self._levels(comparisons, lrec, rrec, lpos, rpos)
        if names is not None:
            features.insert(0, "name", names.astype(np.int8))
        self._frequencies(con, comparisons, features, rrec, rpos, right, entities)
        return pd.concat([pairs.set_axis(features.index), features], axis=1)

    def _generic_words(self, con: duckdb.DuckDBPyConnection, right: KeyTable) -> frozenset[str]:
        """:func:`generic_words` of the right side, read once per table by this linker."""
        if right.relation not in self._generic:
            self._generic[right.relation] = generic_words(con, right)
        return self._generic[right.relation]

    def _levels(self, comparisons, lrec: pd.DataFrame, rrec: pd.DataFrame, lpos: np.ndarray,
                rpos: np.ndarray) -> pd.DataFrame:
        # A comparison one side holds no value for is missing for every pair: not compared pair by pair
        # (CRM accounts hold no email address, and a master rebuild compares millions of pairs).
        absent = [c for c in comparisons if c.absent_is_missing
                  and not ((lrec[c.field] != "").any() and (rrec[c.field] != "").any())]
        if absent:
            present = [c for c in comparisons if c not in absent]
            out = self._levels(present, lrec, rrec, lpos, rpos) if present else pd.DataFrame(index=range(len(lpos)))
            for c in absent:
                out[c.field] = np.int8(c.code(MISSING))
            return out[[c.field for c in comparisons]]
        comparer = build_compare(comparisons)
        parts = []
        for start in range(0, len(lpos), CHUNK_PAIRS):
            sl = slice(start, start + CHUNK_PAIRS)
            index = pd.MultiIndex.from_arrays([lpos[sl], rpos[sl]])
            features = comparer.compute(index, lrec, rrec).astype(np.int8)
            features.index = pd.RangeIndex(start, start + len(features))
            parts.append(features)
        if not parts:
            return pd.DataFrame({c.field: pd.Series(dtype=np.int8) for c in comparisons})
        return pd.concat(parts)

    def _named_once(self, con: duckdb.DuckDBPyConnection, features: pd.DataFrame, left: KeyTable,
                    right: KeyTable, entities: str | None) -> None:
        """A lead's short name is the account's when the account's name is that name and words many of the
        list's names hold, and no other account holds the name: ``subset`` becomes ``contained``.
        "Havering" / "Havering London Boro" and "Derby" / "City of Derby (B)" among the Ordnance Survey's
        councils, where "London", "Boro" and "City" each name a kind of council (18 to 33 of the 380 hold each) and
        no other council's name holds "Havering" or "Derby".

        Read from the list, as term frequencies and :func:`generic_words` are:

        - the account's other words each held by :data:`DESIGNATOR_SHARE` of the list's companies or more
          (and three at least): what the lead left out says what kind of organisation it is, not which one.
          Not "Cannock Chase District" for a lead "Chase", nor "Chambers & Phillips" for "Phillips", "Union
          Square Cafe" for "Square", "Sarabeths Kitchen" (another branch) for "Sarabeths": a review helper's
          files of brands, surnames and trade words typed as company names, whose wrong links this cut most;
        - no other company holds all the lead's words: "Acme" held by sixty accounts names none. Counted
          over companies (``entities``), on every account, not the candidates (a common word's block is cut
          to its nearest names);
        - a list of :data:`NAMED_ONCE_AMONG` names or more: among twenty, nearly every word is some one
          name's, and being alone with it is no news.

        Only for pairs it would carry over the link threshold, not to rank accounts already over it. Scoring
        only, never the pairs the model learns from: raised there, they taught *contained* 17 bits
        instead of 12 (the review's 5,000 accounts with websites, leads with work addresses), and a
        different domain no longer kept "Hutchinson" of hutchinsonassetmanagement.com from Hutchinson
        Growers. Leads only: the account says more (not "Delta" for a lead from "Delta Dental"), and not
        within one list, where "Stars" beside "Stars Cafe" is two restaurants of one owner. Companies only:
        a surname alone in a file of people is no one person's."""
        name = next((c for c in self.comparisons if c.field == "name"), None)
        if self.people or name is None or "name" not in features:
            return
        at = np.flatnonzero(features["name"].to_numpy() == name.code("subset"))
        if len(at):  # only the pairs the raise would carry over the threshold (few, where the model was learned)
            params = self.parameters
            gain = params.weight("name", "contained") - params.weight("name", "subset")
            bits = self.classifier.score(features.iloc[at])["score"].to_numpy()
            needed = np.log2(self.threshold / (1.0 - self.threshold)) if self.threshold < 1 else np.inf
            at = at[(bits < needed) & (bits + gain >= needed)]
        size = _count(con, right) if len(at) else 0
        if size < NAMED_ONCE_AMONG:
            return
        entity, join = _company_of(right, entities)
        common = max(3, int(np.ceil(DESIGNATOR_SHARE * size)))
        subset = pd.DataFrame({"i": at, "l_id": features["l_id"].to_numpy()[at],
                               "r_id": features["r_id"].to_numpy()[at]})
        with db.registered(con, "_subset_pairs", subset) as relation:
            once = con.execute(f"""
                WITH p AS (SELECT s.i, l.tokens AS words,
                                  list_filter(r.tokens, lambda w: NOT list_contains(l.tokens, w)) AS rest
                           FROM {relation} s
                           JOIN {left.relation} l ON l."{left.id}" = s.l_id
                           JOIN {right.relation} r ON r."{right.id}" = s.r_id
                           WHERE len(l.tokens) > 0 AND len(r.tokens) > len(l.tokens)
                             AND list_has_all(r.tokens, l.tokens)),
                     needed AS (SELECT words[1] AS word FROM p UNION SELECT unnest(rest) FROM p),
                     words AS MATERIALIZED (
                         SELECT * FROM (SELECT t.tokens, {entity} AS company, unnest(t.tokens) AS word
                                        FROM {right.relation} t {join})
                         WHERE word IN (SELECT word FROM needed)),
                     holders AS (SELECT w.words, count(DISTINCT x.company) AS n FROM (SELECT DISTINCT words FROM p) w
                                 JOIN words x ON x.word = w.words[1] AND list_has_all(x.tokens, w.words) GROUP BY 1),
                     held AS (SELECT word, count(DISTINCT company) AS n FROM words GROUP BY 1),
                     kinds AS (SELECT r.i FROM (SELECT i, unnest(rest) AS word FROM p) r LEFT JOIN held USING (word)
                               GROUP BY r.i HAVING min(coalesce(held.n, 0)) >= {common})
                SELECT p.i FROM p JOIN holders h ON h.words = p.words JOIN kinds k ON k.i = p.i WHERE h.n = 1
            """).fetchnumpy()["i"]
        if len(once):
            column = features["name"].to_numpy().copy()
            column[once] = name.code("contained")
            features["name"] = column

    def _frequencies(self, con: duckdb.DuckDBPyConnection, comparisons, features: pd.DataFrame,
                     rrec: pd.DataFrame, rpos: np.ndarray, right: KeyTable, entities: str | None) -> None:
        """Add to ``features`` how many of the right side's companies hold each pair's right value, for
        the pairs at a comparison's frequency level: the only ones the classifier adjusts (a value many
        companies share tells less). Counted only for those values: a batch's right records hold a
        quarter of a million values at a million accounts, its exact agreements a few thousand, and
        counting every value cost 3 of the 17 s that matching 10,000 leads took. Other pairs get NaN
        (no adjustment). ``comparisons``: those :meth:`compare` made in full (names compared first for
        ``name_levels`` carry no frequency, as before). ``entities`` (``id``, ``entity``) groups right
        records into companies."""
        entity, join = _company_of(right, entities)
        for c in comparisons:
            if not c.frequency_key or c.field not in features:
                continue
            frequency = np.full(len(features), np.nan)
            at = features[c.field].to_numpy() == c.code(c.frequency_level)
            values = rrec[c.frequency_key].to_numpy()[rpos[at]]
            wanted = pd.unique(values[values != ""])  # missing text is '' (a name that is only a legal form)
            if len(wanted):
                con.register("_frequency_values", pd.DataFrame({"v": wanted}))
                try:
                    counts = con.execute(
                        f"SELECT t.{c.frequency_key} AS v, count(DISTINCT {entity}) AS n FROM {right.relation} t "
                        f"{join} WHERE t.{c.frequency_key} IN (SELECT v FROM _frequency_values) GROUP BY 1"
                    ).df().set_index("v")["n"]
                finally:
                    con.unregister("_frequency_values")
                frequency[at] = pd.Series(values).map(counts).to_numpy(dtype=float)
            features[frequency_column(c.field)] = frequency

    def records(self, con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, left: KeyTable, right: KeyTable
                ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """The keys of the records in ``pairs`` (left, right) and each pair's positions in them: what
        Compare reads.

        One table against itself, pairs from blocking carry their ids' positions among the sorted
        ids (:data:`pipelines.matching.index.POSITIONS`): the records are picked and placed by them.
        (At a million accounts, looking the 18 million pairs' ids up cost about 15 s.)"""
        same = left == right  # one table against itself: fetch its records once
        coded = same and set(POSITIONS) <= set(pairs.columns) and SORTED_IDS in pairs.attrs
        if coded:
            known = pairs.attrs[SORTED_IDS]
            codes = (pairs[POSITIONS[0]].to_numpy(), pairs[POSITIONS[1]].to_numpy())
            used = np.unique(np.concatenate(codes))
            con.register("_link_pairs", pd.DataFrame({"l_id": known[used], "r_id": known[used]}))
        else:
            con.register("_link_pairs", pairs[["l_id", "r_id"]])
        try:
            lrec = None if same else con.execute(
                f'SELECT "{left.id}" AS _id, {self._select} FROM {left.relation} '
                f'WHERE "{left.id}" IN (SELECT l_id FROM _link_pairs)'
            ).df()
            wanted = "SELECT r_id FROM _link_pairs" + (" UNION SELECT l_id FROM _link_pairs" if same else "")
            rrec = con.execute(
                f'SELECT "{right.id}" AS _id, {self._select} FROM {right.relation} WHERE "{right.id}" IN ({wanted})'
            ).df()
        finally:
            con.unregister("_link_pairs")
        if lrec is None:
            lrec = rrec
        for frame in (lrec, rrec):  # _select sent '' for every missing text
            frame.attrs[CLEAN_TEXT] = True
        if coded:
            row = np.full(len(known), -1, dtype=np.int64)
            row[pd.Index(known).get_indexer(rrec["_id"])] = np.arange(len(rrec))
            return lrec, rrec, row[codes[0]], row[codes[1]]
        lpos = pd.Index(lrec["_id"]).get_indexer(pairs["l_id"])
        rpos = pd.Index(rrec["_id"]).get_indexer(pairs["r_id"])
        return lrec, rrec, lpos, rpos

    # Classify ---------------------------------------------------------------------------------
    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` with ``score`` and ``confidence`` added. When linking, a pair whose company names
        differ with none of ``link.different_names_need`` agreeing gets confidence 0: the same city or
        building makes a neighbour, not the company (two restaurants of one Las Vegas hotel). Between files
        of people, :meth:`colleagues` get confidence 0 (and no other rule: a surname changes with a marriage,
        and a name so mistyped is the model's to weigh, as FEBRL's people known by their home addresses)."""
        scored = pd.concat([features, self.classifier.score(features)], axis=1)
        if scored.empty or "name" not in scored:
            return scored
        if self.people:
            scored.loc[self.colleagues(scored), "confidence"] = 0.0
            return scored
        need = self.settings.link.different_names_need
        if self.dedupe or not need:
            return scored
        agree = {"domain": ("exact", "label"), "phone": ("exact", "local"), "street": ("exact", "similar")}
        vouched = np.zeros(len(scored), dtype=bool)
        for field in need:
            vouched |= self.at(scored, field, *agree[field])
        ruled = self.at(scored, "name", "different") & ~vouched
        scored.loc[ruled, "confidence"] = 0.0
        return scored

    def colleagues(self, scored: pd.DataFrame) -> np.ndarray:
        """Pairs of people who work together and are not shown to be one person, in files that say where
        people work (an employer compared): their work domain or employer agrees, their names are not one name
        nor one inside the other (exact, mistyped, a given name's short form, a married or second surname, a
        title: "Mary Smith-Jones" / "Mary Jones" is one; "Mark Brown" / "Mary Brown" and "John Smith" / "Jane
        Smith" are not) and nothing that is one person's agrees (:data:`PERSONAL`). A domain weighs +10 bits
        for a company; in a contacts export it is the employer's. Elsewhere a shared domain may be one
        person's own (Splink's fake_1000: "powers.com"), and names apart are the model's to weigh."""
        if "employer" not in scored:
            return np.zeros(len(scored), dtype=bool)
        together = self.at(scored, "domain", "exact", "label") | self.at(scored, "employer", "exact", "similar")
        personal = np.zeros(len(scored), dtype=bool)
        for field, levels in PERSONAL.items():
            personal |= self.at(scored, field, *levels)
        return together & ~self.at(scored, "name", "exact", "close", "variant", "contained", "subset") & ~personal

    def score_pairs(
        self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, *, min_confidence: float = 0.0,
        name_levels: list[str] | None = None, pairs: pd.DataFrame | None = None, entities: str | None = None,
    ) -> pd.DataFrame:
        """Every candidate pair (or the given ``pairs``) with its comparison levels, score and confidence.

        Pairs below ``min_confidence`` are dropped (the caller's threshold), and with
        ``name_levels`` pairs whose names agree at none of these levels are dropped before
        the other comparisons are made, so a large rebuild only does the work it needs.
        :meth:`explain` adds the words for the pairs kept.
        """
        if pairs is None:
            pairs = self.candidates(con, left, right)
        if pairs.empty:
            return _empty_scores(self.comparisons)
        features = self.compare(con, pairs, left, right, entities=entities, name_levels=name_levels)
        if not self.dedupe and left != right:
            self._named_once(con, features, left, right, entities)
        scored = self.score(features)
        if not self.dedupe and not self.person_address:
            # Two lists of organisations: a namesake in another place is another site, never the match
            # (:mod:`pipelines.matching.sites`); it ranks last, so "the closest account" names a real one.
            # A CRM lead's phone and address are often the person's (lead_address: person).
            scored = sites.elsewhere(con, left, right, scored, self.level, self.settings.default_country,
                                     domain_ties=True)
            apart = scored[sites.CLOCKS_APART].to_numpy() | scored[sites.STATES_APART].to_numpy()
            scored.loc[apart, "confidence"] = 0.0
            scored.loc[apart, "score"] = np.minimum(scored.loc[apart, "score"].to_numpy(), VETOED_BITS)
        if min_confidence > 0:
            scored = scored[scored["confidence"] >= min_confidence].reset_index(drop=True)
        return scored

    # Learn ------------------------------------------------------------------------------------
    def learn(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, *,
              pairs: pd.DataFrame | None = None, labels: pd.DataFrame | None = None,
              label_tables: tuple[KeyTable, KeyTable] | None = None,
              progress: Callable[[str], None] = lambda m: None) -> Parameters:
        """Learn the model from the records (see :mod:`pipelines.matching.learn`) and score with it.

        ``pairs``: the candidate pairs when already found; ``labels``: known duplicate pairs
        (``l_id``, ``r_id``, ids of ``left`` and ``right`` or of ``label_tables``) whose levels
        replace EM's m where there are enough of them.
        """
        kind = "dedupe" if self.dedupe else "link"
        same = left == right
        n_left = _count(con, left)
        n_right = n_left if same else _count(con, right)
        reason = learning.too_small(self.settings.model, n_left, n_right)
        if reason:
            params = learning.fallback(self.settings.model, self.comparisons, kind, reason,
                                       person_address=self.person_address)
            self.use(params)
            return params
        cfg = self.settings.model.learn
        li, ri = learning.random_pairs(n_left, n_right, cfg.random_pairs, dedupe=same, seed=cfg.seed)
        lids, rids = _ids(con, left), (None if same else _ids(con, right))
        random = pd.DataFrame({"l_id": lids[li], "r_id": (lids if same else rids)[ri]})
        random_codes = self.compare(con, random, left, right)
        exact = {c.field: _agreeing_share(con, left, right, c.exact_key) for c in self.comparisons if c.exact_key}
        if pairs is None:
            pairs = self.candidates(con, left, right)
        n_candidates = len(pairs)
        sample = pairs if n_candidates <= cfg.em_pairs else pairs.sample(cfg.em_pairs, random_state=0)
        candidate_codes = self.compare(con, sample.reset_index(drop=True), left, right)
        everywhere = None
        proposed = np.bitwise_or.reduce(candidate_codes["blocked_by"].to_numpy(dtype=np.int64)) if len(sample) else 0
        if proposed and all("name" in rule.compares for i, rule in enumerate(self.rules) if proposed >> i & 1):
            # Every candidate pair was proposed because its names agree: none of them tells how often a match's
            # names agree. Pairs of one city were proposed by no name (Splink trains on a city's pairs for that).
            # Drawn only if learn() finds nothing else to learn from.
            def everywhere() -> tuple[learning.Sample, np.ndarray] | None:
                city, population = _one_city_pairs(con, left, right, cfg.em_pairs, cfg.seed)
                if len(city) < learning.MIN_SESSION_PAIRS:
                    return None
                progress(f"{len(city):,} pairs of one city drawn to learn how alike a match's names are")
                total = n_left * (n_left - 1) / 2 if same else float(n_left) * n_right
                return self._standing_for_all(con, left, right, pairs, [
                    (random, random_codes, total), (sample, candidate_codes, float(n_candidates)),
                    (city, self.compare(con, city, left, right), population)])
        label_codes = None
        if labels is not None and len(labels):
            lt, rt = label_tables or (left, right)
            label_codes = _sample(self.compare(con, labels[["l_id", "r_id"]].reset_index(drop=True), lt, rt),
                                  self.comparisons)
        params = learning.learn(
            comparisons=self.comparisons, model=self.settings.model, kind=kind, rules=self.rules,
            random_sample=_sample(random_codes, self.comparisons),
            candidates=_sample(candidate_codes, self.comparisons, candidate_codes["blocked_by"].to_numpy()),
            n_left=n_left, n_right=n_right, n_candidates=n_candidates, dedupe=same, labels=label_codes,
            person_address=self.person_address, exact_shares=exact, everywhere=everywhere, progress=progress)
        self.use(params)
        return params

    def _standing_for_all(self, con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable,
                          candidates: pd.DataFrame, draws: list[tuple[pd.DataFrame, pd.DataFrame, float]]
                          ) -> tuple[learning.Sample, np.ndarray]:
        """The pairs of three draws, each pair once, weighted to stand for all pairs of records: the random pairs,
        the candidate pairs (``candidates``: all of them) and the pairs of one city, each given as its pairs, their
        comparison levels and how many pairs it was drawn from. A pair's weight is one over its chance of being drawn
        by any of the three (Horvitz and Thompson's estimator): a candidate pair or a pair of one city is as likely
        as any of its kind to be among those drawn, and every pair is as likely to be a random one."""
        one_table = left == right
        codes = pd.concat([c for _, c, _ in draws], ignore_index=True)
        ends = ("least(l_id, r_id) AS a, greatest(l_id, r_id) AS b" if one_table else "l_id AS a, r_id AS b")
        with contextlib.ExitStack() as stack:
            drawn = stack.enter_context(db.registered(con, "_drawn_pairs", codes[["l_id", "r_id"]].assign(
                i=np.arange(len(codes)), draw=np.repeat(np.arange(len(draws)), [len(c) for _, c, _ in draws]))))
            proposed = stack.enter_context(db.registered(con, "_proposed_pairs", candidates[["l_id", "r_id"]]))
            # Each pair once (a random pair drawn twice, a candidate drawn at random too), with what it is; and how
            # many distinct pairs each draw holds (random pairs are drawn with replacement).
            found = con.execute(f"""
                WITH p AS (SELECT i, draw, {ends} FROM {drawn}),
                     firsts AS (SELECT min(i) AS i, a, b FROM p GROUP BY a, b),
                     proposed AS (SELECT DISTINCT {ends} FROM {proposed})
                SELECT f.i, (c.a IS NOT NULL) AS candidate,
                       coalesce(l.city <> '' AND l.city = r.city, false) AS one_city
                FROM firsts f
                LEFT JOIN proposed c ON c.a = f.a AND c.b = f.b
                JOIN {left.relation} l ON l."{left.id}" = f.a
                JOIN {right.relation} r ON r."{right.id}" = f.b
                ORDER BY f.i""").df()
            distinct = con.execute(f"SELECT draw, count(DISTINCT (a, b)) FROM (SELECT draw, {ends} FROM {drawn}) "
                                   "GROUP BY draw").fetchall()
        held = dict(distinct)
        kinds = [np.ones(len(found), dtype=bool), found["candidate"].to_numpy(dtype=bool),
                 found["one_city"].to_numpy(dtype=bool)]
        missed = np.ones(len(found))
        for d, ((_, _, population), of_kind) in enumerate(zip(draws, kinds)):
            missed *= 1 - of_kind * (min(1.0, held.get(d, 0) / population) if population else 0.0)
        pairs = codes.iloc[found["i"].to_numpy()].reset_index(drop=True)
        return _sample(pairs, self.comparisons), 1.0 / np.maximum(1 - missed, 1e-12)

    # Explain ----------------------------------------------------------------------------------
    def explain(self, scored: pd.DataFrame) -> pd.DataFrame:
        """``scored`` rows with ``reason``, ``evidence`` and each comparison's level by name."""
        out = scored.reset_index(drop=True)
        words = self.classifier.explain(out)
        for column, why in sites.WHY.items():  # a namesake ruled another site says so
            if column in out:
                apart = out[column].to_numpy(dtype=bool)
                words.loc[apart, "reason"] = words.loc[apart, "reason"] + f"; {why}"
        out = pd.concat([out, words], axis=1)
        if "blocked_by" in out:
            out["blocked_by"] = rule_names(self.rules, out["blocked_by"])
        for c in self.comparisons:
            if c.field in out:
                out[c.field] = np.array(c.levels, dtype=object)[out[c.field].to_numpy(dtype=np.int64)]
        return out

    def level(self, field: str, name: str) -> int:
        """The code of a comparison level, to filter scored pairs before :meth:`explain`."""
        return next(c for c in self.comparisons if c.field == field).code(name)

    def at(self, scored: pd.DataFrame, field: str, *levels: str) -> np.ndarray:
        """Which ``scored`` pairs compare ``field`` at one of ``levels``; a comparison not made is missing."""
        if field not in scored:
            return np.full(len(scored), MISSING in levels)
        return scored[field].isin([self.level(field, lv) for lv in levels]).to_numpy()


GENERIC_SHARE = 0.5  # a word most of a list's names end with tells none of them from another...
GENERIC_NAMES = 10  # ...when ten names at least end with it


def generic_words(con: duckdb.DuckDBPyConnection, table: KeyTable) -> frozenset[str]:
    """The words :data:`GENERIC_SHARE` of ``table``'s distinct names or more end with: "district" in the
    Ordnance Survey's list of local councils (62% of them: "Wycombe District"). A name that ends with such a
    word is the same name without it (:func:`pipelines.matching.names.one_but_generic`), as with a legal form.

    Read from the list itself, as Splink's term frequencies are, not from a list of words: in a CRM of every
    trade no word ends most names (legal forms, the commonest, are already not part of the name). Not any word
    held by a tenth of the names, as first written: among public universities, 27% of whose names hold "State",
    "University of Michigan" was "Michigan State University"; among local governments "Kansas" was "Kansas
    City"; in the restaurant guides (9% "Cafe") "Stars" was "Stars Cafe", another restaurant of its owner."""
    rows = con.execute(f"""
        WITH names AS (SELECT DISTINCT name FROM {table.relation} WHERE name <> ''),
             ends AS (SELECT list_last(string_split(name, ' ')) AS word FROM names)
        SELECT word FROM ends GROUP BY word
        HAVING count(*) >= greatest({GENERIC_NAMES}, {GENERIC_SHARE} * (SELECT count(*) FROM names))
    """).fetchall()
    return frozenset(r[0] for r in rows if r[0] and r[0] not in NAME_STOPWORDS)  # "the" is no word of a name


def _agreeing_share(con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, key: str) -> float | None:
    """The share of pairs of records, both holding ``key``, that hold the same value: from how often each value
    occurs on either side (two records of one table: each record with each other). None when no pair holds it.

    What random pairs estimate, counted exactly: of 100,000 random pairs of RLdata10000's people about fifteen
    share a whole name, and one file of it and the same file with 86 more people (namesakes born other years)
    drew 15 and 23. That moved the weight of an exact name by 0.6 bits, and the recall from 0.95 to 0.61: an
    exact name with a date of birth a digit off was a match in one and not in the other."""
    present = f"{key} IS NOT NULL AND {key} <> ''"
    if left == right:
        shared, n = con.execute(f"SELECT sum(n * (n - 1)), sum(n) FROM (SELECT count(*) AS n FROM {left.relation} "
                                f"WHERE {present} GROUP BY {key})").fetchall()[0]
        pairs = (n or 0) * ((n or 0) - 1)
    else:
        shared = con.execute(f"SELECT sum(l.n * r.n) FROM (SELECT {key} AS v, count(*) AS n FROM {left.relation} "
                             f"WHERE {present} GROUP BY 1) l JOIN (SELECT {key} AS v, count(*) AS n FROM "
                             f"{right.relation} WHERE {present} GROUP BY 1) r USING (v)").fetchall()[0][0]
        pairs = (con.execute(f"SELECT count(*) FROM {left.relation} WHERE {present}").fetchall()[0][0]
                 * con.execute(f"SELECT count(*) FROM {right.relation} WHERE {present}").fetchall()[0][0])
    return float(shared or 0) / pairs if pairs else None


def _one_city_pairs(con: duckdb.DuckDBPyConnection, left: KeyTable, right: KeyTable, most: int, seed: int
                    ) -> tuple[pd.DataFrame, float]:
    """About ``most`` pairs of records of one city (``l_id``, ``r_id``), drawn evenly from all such pairs, and how
    many such pairs there are. Each side's records are kept with one chance, the square root of the share wanted, so
    that a city of a million records is never paired in full."""
    where = "city IS NOT NULL AND city <> ''"
    counts = f"SELECT city, count(*) AS n FROM {left.relation} WHERE {where} GROUP BY 1"
    if left == right:
        total = con.execute(f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM ({counts})").fetchall()[0][0]
    else:
        total = con.execute(f"SELECT coalesce(sum(l.n * r.n), 0) FROM ({counts}) l JOIN (SELECT city, count(*) AS n "
                            f"FROM {right.relation} WHERE {where} GROUP BY 1) r USING (city)").fetchall()[0][0]
    if not total:
        return pd.DataFrame({"l_id": [], "r_id": []}), 0.0
    kept = int(min(1.0, (most / float(total)) ** 0.5) * 1_000_000)

    def side(table: KeyTable, salt: str) -> str:
        # One table against itself: a record is kept on both sides or neither, so a pair is kept with the chance
        # squared. Two tables: each side its own salt, so that records sharing an id (row numbers) are not kept
        # together more often than any two.
        return (f'SELECT "{table.id}" AS id, city FROM {table.relation} WHERE {where} '
                f"AND hash(CAST(\"{table.id}\" AS VARCHAR) || '{salt}{seed}') % 1000000 < {kept}")

    order = "AND l.id < r.id" if left == right else ""
    salts = ("", "") if left == right else ("l", "r")
    pairs = con.execute(f"SELECT l.id AS l_id, r.id AS r_id FROM ({side(left, salts[0])}) l "
                        f"JOIN ({side(right, salts[1])}) r ON l.city = r.city {order}").df()
    if len(pairs) > most:
        pairs = pairs.sample(most, random_state=seed).reset_index(drop=True)
    return pairs, float(total)


def _company_of(right: KeyTable, entities: str | None) -> tuple[str, str]:
    """The SQL naming the company of each record ``t`` of ``right`` and the join it needs: ``entities`` (``id``,
    ``entity``) groups records into companies; a record it does not list, or without it, is its own."""
    if not entities:
        return f't."{right.id}"', ""
    return f'coalesce(e.entity, t."{right.id}")', f'LEFT JOIN {entities} e ON e.id = t."{right.id}"'


def _count(con: duckdb.DuckDBPyConnection, table: KeyTable) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table.relation}").fetchall()[0][0])


def _ids(con: duckdb.DuckDBPyConnection, table: KeyTable) -> np.ndarray:
    return con.execute(f'SELECT "{table.id}" FROM {table.relation} ORDER BY 1').df().iloc[:, 0].to_numpy()


def _sample(features: pd.DataFrame, comparisons, blocked_by: np.ndarray | None = None) -> learning.Sample:
    codes = {c.field: features[c.field].to_numpy(dtype=np.int64) if c.field in features
             else np.full(len(features), c.code(MISSING)) for c in comparisons}
    return learning.Sample(codes, blocked_by)


def _empty_features(comparisons) -> pd.DataFrame:
    cols = ["l_id", "r_id", "blocked_by"] + [c.field for c in comparisons]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def _empty_scores(comparisons) -> pd.DataFrame:
    return _empty_features(comparisons).assign(score=pd.Series(dtype=float), confidence=pd.Series(dtype=float))


def best_per_left(scored: pd.DataFrame, threshold: float, margin: float = 0.0,
                  order: list[tuple[str, bool]] | None = None) -> pd.DataFrame:
    """The best right record for each left id among pairs at or above ``threshold``.

    Pairs within ``margin`` bits of the best score tie; ties go by ``order`` (columns of
    ``scored`` and whether ascending), then the higher score, then the smaller id.
    """
    ok = scored[scored["confidence"] >= threshold].copy()
    if ok.empty:
        return ok
    ok["_best"] = ok.groupby("l_id")["score"].transform("max")
    ok["_tied"] = ok["score"] >= ok["_best"] - margin
    by = ["l_id", "_tied"] + [c for c, _ in (order or [])] + ["score", "r_id"]
    asc = [True, False] + [a for _, a in (order or [])] + [False, True]
    ok = ok.sort_values(by, ascending=asc, na_position="last", kind="stable")
    best = ok.drop_duplicates("l_id", keep="first")
    return best.drop(columns=["_best", "_tied"])
