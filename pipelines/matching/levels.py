"""The vocabulary of the comparisons: each compared field and its agreement levels, strongest first.

``matching.yaml`` writes weights and name levels in these words. They live apart from the
comparisons themselves (:mod:`pipelines.matching.compare`, which needs recordlinkage and
scikit-learn) so that reading and validating ``matching.yaml`` (``leadroute validate``, a
pre-commit hook) costs none of those imports.
"""

from __future__ import annotations

# A word mistyped is looked for from this many letters (comparing names, blocking them): shorter words sit a
# letter from too many others ("corp", "core", "cord").
TYPO_MIN_LETTERS = 5
MISSING = "missing"  # a value absent on either side: no evidence either way
# Levels that say two values disagree outright: a learned weight never counts them for a match.
DISAGREEMENT = frozenset({"different", "far"})
# Name levels that say two records carry one name (written another way), not two names that share words.
ONE_NAME = ("exact", "close", "acronym", "variant")

LEVELS: dict[str, tuple[str, ...]] = {
    "domain": ("exact", "label", "different", MISSING),
    "name": ("exact", "close", "acronym", "variant", "site", "contained", "subset", "similar", "partial", "different",
             MISSING),
    "phone": ("exact", "local", "different", MISSING),
    "email": ("exact", "close", "different", MISSING),
    "birthdate": ("exact", "close", "near", "different", MISSING),
    "street": ("exact", "similar", "other_unit", "same_street", "other_number", "same_number", "different", MISSING),
    "place": ("postal", "city", "district", "postal_typo", "state", "different", MISSING),
    "country": ("exact", "different", MISSING),
    "geo": ("same_place", "near", "same_area", "far", MISSING),
}
# Compared only between files of people: the company a person works for (a contacts export's "Company"), a
# fact about the person weaker than their name. Apart from LEVELS, the account master's comparisons, whose
# stored models are fingerprinted by them (pipelines.matching.parameters.settings_hash): the warehouse holds
# no people, and its models are not learned again for a comparison it never makes.
PEOPLE_LEVELS: dict[str, tuple[str, ...]] = {
    "employer": ("exact", "similar", "different", MISSING),
}
