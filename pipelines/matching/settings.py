"""Matching settings as data (``routing_rules/matching.yaml``), validated once at load.

Everything ops may tune lives here: which pairs are compared (blocking), how much
each kind of evidence weighs, the thresholds, which accounts are never matched,
how ties between equally good accounts are broken, which account of a duplicate
cluster survives, and which level of a hierarchy a lead routes to. Every key has
a default, so an empty file is a working configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from pipelines.matching.domain_list import DEFAULT_FILE, read_domain_list
from pipelines.matching.levels import LEVELS, PEOPLE_LEVELS
from pipelines.sourcefile import ConfigError, ConfigProblem, SourceRef, read_settings


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Weights in bits: log2(how much more often a true match shows this level than a non-match),
# for tables too small to learn from (see pipelines.matching.learn). They go with `prior`, the
# log2 odds of a match before evidence among *candidate* pairs. +10 means "a thousand times
# likelier for a match"; negative weights count against. A name mistyped (*close*) weighs 6.6: every
# model learned from public files (FEBRL, the restaurant guides, dedupe's csv_example) put it 2.9-5.6 bits
# above its prior, for dedupes and links alike, and at +3 a list of names alone never merged
# "Koninklijke Philips Electronis" with "...Electronics". Not 7: it stays more than `tie_breakers.margin`
# (1 bit) below an exact name, so an account of the lead's exact name is not tied with one of a name a
# letter apart (unless that name is shared and weighs less for it), and at 6.6 it still clears the dedupe
# threshold (0.85: 2.5 bits) over the prior.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "domain": {"exact": 10.0, "label": 5.0, "different": -2.0},
    "name": {"exact": 8.0, "close": 6.6, "acronym": 4.0, "variant": 7.0, "site": 7.0, "contained": 7.0,
             "subset": 3.5, "similar": 1.0, "partial": -1.0, "different": -3.0},
    "phone": {"exact": 7.0, "local": 4.5, "different": -1.0},
    # A person's address: one person, whatever else differs; people keep a work and a private one.
    # An address mistyped (a letter dropped, two swapped) is still most likely that person's.
    "email": {"exact": 9.0, "close": 5.0, "different": -0.5},
    # A date of birth: one in a few thousand people share it; one digit off is a typo; within a year,
    # misremembered or another person (learned either way: the file's own pairs say which); another is another person.
    "birthdate": {"exact": 8.0, "close": 3.0, "near": -1.0, "different": -4.0},
    "street": {"exact": 4.0, "similar": 3.0, "other_unit": 1.0, "same_street": 1.0, "other_number": -1.0,
               "same_number": -1.0, "different": -1.5},
    "place": {"postal": 2.5, "city": 1.5, "district": 1.0, "postal_typo": 0.0, "state": 0.5, "different": -1.0},
    "country": {"exact": 0.5, "different": -2.0},
    "geo": {"same_place": 3.0, "near": 1.0, "same_area": 0.0, "far": -2.0},
    # A person's employer (files of people): colleagues share it, and people change jobs; but one name at
    # two companies is more often two people than one who moved: with a city alone beside it, no match
    # (-4 + 8 + 1.5 - 4 = 1.5 bits: the prior, the name, the city and this; under a dedupe's 2.5 and a link's 2).
    "employer": {"exact": 2.0, "similar": 1.5, "different": -4.0},
}

# Prior m-probabilities: how often a true match shows each level, where the data cannot say
# (a comparison every blocking rule depends on, or too few pairs). Each comparison's levels
# (without "missing") sum to 1. Splink's defaults are of the same kind.
DEFAULT_M: dict[str, dict[str, float]] = {
    "domain": {"exact": 0.85, "label": 0.07, "different": 0.08},
    "name": {"exact": 0.45, "close": 0.08, "acronym": 0.02, "variant": 0.12, "site": 0.05, "contained": 0.08,
             "subset": 0.04, "similar": 0.06, "partial": 0.04, "different": 0.06},
    "phone": {"exact": 0.65, "local": 0.15, "different": 0.2},
    "email": {"exact": 0.65, "close": 0.1, "different": 0.25},
    "birthdate": {"exact": 0.85, "close": 0.08, "near": 0.04, "different": 0.03},
    "street": {"exact": 0.6, "similar": 0.15, "other_unit": 0.03, "same_street": 0.04, "other_number": 0.06,
               "same_number": 0.02, "different": 0.1},
    "place": {"postal": 0.75, "city": 0.12, "district": 0.03, "postal_typo": 0.02, "state": 0.04, "different": 0.04},
    "country": {"exact": 0.97, "different": 0.03},
    "geo": {"same_place": 0.6, "near": 0.25, "same_area": 0.1, "far": 0.05},
    "employer": {"exact": 0.75, "similar": 0.1, "different": 0.15},
}


# A lead's address and phone are often the person's (home office, mobile, a branch), not
# the company's headquarters the account holds: disagreement there says little.
PERSON_ADDRESS_WEIGHTS: dict[str, dict[str, float]] = {
    "phone": {"different": -0.5},
    "street": {"different": -0.5},
    "place": {"different": -0.5},
    "geo": {"far": -0.5},
}


class BlockingRuleSpec(_Model):
    """One blocking rule: exactly one of the keys below."""

    block_on: str | None = None
    max_size: int = Field(1000, ge=2, description="a key shared by more records than this is sub-blocked: "
                                                  "each record meets its `window` nearest neighbours by name")
    acronym: bool | None = None
    words: int | None = Field(None, ge=2, description="pairs sharing a word of the name; a word found in more "
                                                      "records than this is sub-blocked")
    address: int | None = Field(None, ge=2, description="pairs sharing a house number and a street word; more "
                                                        "records than this are sub-blocked")
    rare_tokens: int | None = Field(None, ge=2, description="like words:, for each record's `per_record` rarest words")
    per_record: int = Field(2, ge=1)
    typos: bool | None = Field(None, description="for words and rare_tokens (default true): a rare word one letter "
                                                 "off a common one (\"Philps\", \"Akzo Novel\") also meets its records")
    sorted_neighbourhood: str | None = None
    window: int = Field(3, ge=1, le=50, description="neighbours on either side, for sorted_neighbourhood and "
                                                   "within sub-blocked blocks")

    @property
    def looks_for_typos(self) -> bool:
        """Whether a words rule also puts a rare word under the common words a letter off it (unless
        ``typos: false``)."""
        return self.typos is not False

    @model_validator(mode="after")
    def _one_kind(self) -> BlockingRuleSpec:
        kinds = [k for k in _RULE_KINDS if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(f"each blocking rule needs exactly one of {', '.join(_RULE_KINDS)}, "
                             "e.g. `- block_on: domain`")
        if self.typos is not None and kinds[0] not in ("words", "rare_tokens"):
            raise ValueError(f"`typos:` applies to `words:` and `rare_tokens:` rules only, not `{kinds[0]}:`")
        return self


_RULE_KINDS = ("block_on", "acronym", "words", "address", "rare_tokens", "sorted_neighbourhood")


def _shared_key_blocking() -> list[BlockingRuleSpec]:
    """The keys both linking and deduplication block on: same domain, phone (or local number), email
    address, name, domain label, acronym, house number with a street word."""
    return [
        BlockingRuleSpec(block_on="domain"),
        BlockingRuleSpec(block_on="phone_local", max_size=50),
        BlockingRuleSpec(block_on="email", max_size=50),
        BlockingRuleSpec(block_on="birthdate", max_size=50),
        BlockingRuleSpec(block_on="name_key", max_size=200),
        BlockingRuleSpec(block_on="domain_label", max_size=100),
        BlockingRuleSpec(acronym=True, max_size=100),
        BlockingRuleSpec(address=50),
        BlockingRuleSpec(block_on="postal_code", max_size=50),
    ]


def _default_blocking() -> list[BlockingRuleSpec]:
    return _shared_key_blocking() + [
        BlockingRuleSpec(words=50),
        BlockingRuleSpec(sorted_neighbourhood="name_key", window=3),
    ]


class LearnSettings(_Model):
    """How the model's parameters are learned from each org's own records (see pipelines.matching.learn)."""

    enabled: bool = Field(True, description="learn u, m and the match rate from the data; false: the weights decide")
    min_records: int = Field(300, ge=10, description="fewer records than this on either side: too few to "
                                                     "learn from, the weights (priors) decide")
    random_pairs: int = Field(100_000, ge=1000, description="random record pairs sampled to learn u")
    seed: int = Field(0, ge=0, description="which random pairs are drawn: the same records and seed learn the same "
                                           "model (benchmarks/bench_draws.py learns under several to see how much a "
                                           "model rests on its draw)")
    em_pairs: int = Field(100_000, ge=1000, description="candidate pairs sampled for expectation maximisation")
    m: dict[str, dict[str, float]] = Field(default_factory=dict,
                                           description="overrides of DEFAULT_M, the prior m-probabilities")
    max_weight: float = Field(20.0, gt=0, description="a learned weight never exceeds this many bits...")
    min_weight: float = Field(-12.0, lt=0, description="...nor falls below this many")

    @field_validator("m")
    @classmethod
    def _known_m(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return _check_levels(value)


def _check_levels(value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    known = LEVELS | PEOPLE_LEVELS
    for field, levels in value.items():
        if field not in known:
            raise ValueError(f"unknown comparison {field!r}; known: {', '.join(known)}")
        for level in levels:
            if level not in known[field]:
                raise ValueError(f"{field}: unknown level {level!r}; known: {', '.join(known[field])}")
    return value


class ModelSettings(_Model):
    """The Fellegi-Sunter model: each comparison level's weight, learned from the data or given.

    ``weights`` written here are *pinned*: never learned over. Everything else is learned
    when the table is large enough (``learn``), and otherwise comes from DEFAULT_WEIGHTS
    with ``prior``.
    """

    prior: float = Field(-4.0, description="log2 odds of a match among candidate pairs before any evidence, "
                                           "for tables too small to learn from")
    weights: dict[str, dict[str, float]] = Field(default_factory=dict, description="pinned weights (bits)")
    person_address_weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {f: dict(v) for f, v in PERSON_ADDRESS_WEIGHTS.items()},
        description="weights used instead when a lead's address is a person's (link.lead_address: person) and "
                    "nothing was learned")
    frequency_discount_cap: float = Field(
        6.0, ge=0, description="agreeing on a value many companies share (a name, a domain, a phone) weighs up "
                               "to this many bits less; counted over companies, not records")
    learn: LearnSettings = Field(default_factory=LearnSettings)

    @field_validator("weights", "person_address_weights")
    @classmethod
    def _known_levels(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return _check_levels(value)

    def weight_table(self, person_address: bool = False) -> dict[str, dict[str, float]]:
        """The prior weights: DEFAULT_WEIGHTS with the pinned ones (and the person-address ones)."""
        merged = {f: dict(levels) for f, levels in DEFAULT_WEIGHTS.items()}
        for overrides in [self.weights] + ([self.person_address_weights] if person_address else []):
            for field, levels in overrides.items():
                merged.setdefault(field, {}).update(levels)
        return merged

    def m_table(self) -> dict[str, dict[str, float]]:
        """The prior m-probabilities: DEFAULT_M with ``learn.m``'s overrides, each comparison normalised."""
        merged = {f: dict(levels) for f, levels in DEFAULT_M.items()}
        for field, levels in self.learn.m.items():
            merged.setdefault(field, {}).update(levels)
        return {f: {k: v / sum(levels.values()) for k, v in levels.items()} for f, levels in merged.items()}


TieBreaker = Literal["type", "top_of_hierarchy", "recent_activity", "open_opportunities", "most_complete",
                     "oldest", "newest"]
HierarchyLevel = Literal["account", "parent", "domestic_ultimate", "global_ultimate"]


class TieBreakers(_Model):
    type_rank: list[str] = Field(default_factory=lambda: ["Customer", "Partner", "Target", "Prospect"])
    order: list[TieBreaker] = Field(default_factory=lambda: ["type", "top_of_hierarchy", "recent_activity", "oldest"])
    margin: float = Field(1.0, ge=0, description="accounts within this many bits of the best match tie")


class Filters(_Model):
    """Accounts never matched. Deleted accounts never are: they have no match keys."""

    skip_types: list[str] = Field(default_factory=list, description="account types never matched")
    skip_inactive_days: int | None = Field(
        None, ge=1, description="never match accounts with no activity (or creation) for this many days")


class LinkSettings(_Model):
    threshold: float = Field(0.8, gt=0, lt=1, description="confidence from which a lead matches an account")
    different_names_need: list[Literal["domain", "phone", "street"]] = Field(
        default_factory=lambda: ["domain", "phone"],
        description="a lead whose company name differs from an account's matches it only when one of these "
                    "agrees (a company in the same city or building is a neighbour, not the company; not applied "
                    "between two files of people, whose surnames change: there, with a company mapped, colleagues "
                    "are two people unless an email address, a phone or a date of birth agrees); [] turns the rule off")
    hierarchy_level: HierarchyLevel = "account"
    lead_address: Literal["person", "company"] = Field(
        "person", description="whose address and phone a lead carries: a person's (CRM leads) weighs "
                              "disagreement less than a company's (two lists of organisations)")


def _default_dedupe_blocking() -> list[BlockingRuleSpec]:
    """The keys both share, each record's two rarest name words (a frequent word is sub-blocked,
    never dropped: a company present 250 times is still deduplicated) and the next name in
    sorted order (a typo late in a name). Tighter than linking: a million accounts against
    themselves make far more pairs than a tick's leads against them."""
    return _shared_key_blocking() + [
        BlockingRuleSpec(rare_tokens=20, per_record=2, window=2),
        BlockingRuleSpec(sorted_neighbourhood="name_key", window=1),
    ]


NAME_AGREEMENT = [lv for lv in LEVELS["name"] if lv != "missing"]


def _name_levels(levels: list[str]) -> list[str]:
    unknown = [lv for lv in levels if lv not in NAME_AGREEMENT]
    if unknown:
        raise ValueError(f"unknown name level {', '.join(map(repr, unknown))}: use {', '.join(NAME_AGREEMENT)}")
    return levels


class DedupeSettings(_Model):
    blocking: list[BlockingRuleSpec] = Field(default_factory=_default_dedupe_blocking)
    threshold: float = Field(0.85, gt=0, lt=1, description="confidence from which two records are one company")
    name_levels: list[str] = Field(
        default_factory=lambda: ["exact", "close", "acronym", "variant", "site", "contained"],
        description="how the names of two duplicates must agree (sharing a domain alone is more often "
                    "a parent and its business unit)")
    corroborated_name_levels: list[str] = Field(
        default_factory=lambda: ["subset", "similar"],
        description="name agreement that also counts when other evidence in `corroborated_by` agrees, or when "
                    "neither record has any of that evidence")
    confirmed_name_levels: list[str] = Field(
        default_factory=lambda: ["partial"],
        description="name agreement that counts only when other evidence in `corroborated_by` agrees (a word "
                    "of the name replaced or badly typed, at the same street address or phone)")
    corroborated_by: list[Literal["phone", "email", "street", "geo", "postal"]] = Field(
        default_factory=lambda: ["phone", "email", "street", "geo", "postal"],
        description="evidence that lets overlapping names count (business listings, contact lists): the same "
                    "phone, email address, street address, location or postal code")
    other_site: bool = Field(
        True, description="two records whose streets differ are two sites, whatever their names and postal code, "
                          "unless their phones agree and their names are one name written two ways (an agency's "
                          "sites share its switchboard); the same house number in one postal code is a street name "
                          "mistyped, not another site; so are two with no street to compare, nothing of their place "
                          "agreeing, whose phones ring under clocks an hour apart or who are in two US states")
    same_country: bool = Field(
        True, description="records in different countries are never duplicates (they are a company's "
                          "country units, kept apart for the hierarchy)")

    _levels = field_validator("name_levels", "corroborated_name_levels", "confirmed_name_levels")(_name_levels)


class MasterSettings(_Model):
    survivor: list[TieBreaker] = Field(
        default_factory=lambda: ["type", "open_opportunities", "most_complete", "oldest"],
        description="which account of a duplicate cluster survives: first criterion that differs decides")
    corroborated_by: list[Literal["phone", "email", "street", "geo", "postal"]] = Field(
        default_factory=lambda: ["phone"],
        description="for CRM accounts, overlapping names count as duplicates only with this evidence: a "
                    "company's business units share its street, not its phone number")
    confirmed_name_levels: list[str] = Field(
        default_factory=list,
        description="for CRM accounts, name agreement that counts only with `corroborated_by` evidence "
                    "(default none: a company's business units share words of its name and often its phone)")

    _levels = field_validator("confirmed_name_levels")(_name_levels)


class LeadToLead(_Model):
    enabled: bool = True
    by: list[Literal["domain", "name"]] = Field(default_factory=lambda: ["domain", "name"])


class AccountDomains(_Model):
    """Where an account's other web domains come from (regional sites, acquired brands): a lead from
    any of them matches the account exactly (see :mod:`pipelines.matching.domains`)."""

    crm_field: str | None = Field(
        "domains", description="the account field (fields.yaml) listing more domains, separated by ; , or "
                               "spaces (a multi-value custom field); used when the CRM has it")
    file: str | None = Field(
        DEFAULT_FILE, description="a CSV kept by ops in the rules folder, columns account_id,domain "
                                           "(a missing file lists none)")

    @field_validator("file")
    @classmethod
    def _in_the_rules_folder(cls, value: str | None) -> str | None:
        # A file outside is not part of the rules version, and its lines must never reach a CI log.
        if value is not None and (Path(value).is_absolute() or ".." in Path(value).parts):
            raise ValueError(f"{value[:200]!r} is outside the rules folder; keep the list in it, e.g. {DEFAULT_FILE}")
        return value


class MatchingSettings(_Model):
    version: int = 1
    default_country: str = Field("US", min_length=2, max_length=2, description="for phones and postal codes")
    blocking: list[BlockingRuleSpec] = Field(default_factory=_default_blocking)
    model: ModelSettings = Field(default_factory=ModelSettings)
    link: LinkSettings = Field(default_factory=LinkSettings)
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    master: MasterSettings = Field(default_factory=MasterSettings)
    tie_breakers: TieBreakers = Field(default_factory=TieBreakers)
    filters: Filters = Field(default_factory=Filters)
    lead_to_lead: LeadToLead = Field(default_factory=LeadToLead)
    domains: AccountDomains = Field(default_factory=AccountDomains)
    # The rows of domains.file as read and checked at load (account_id, domain, source), so a run
    # uses the list it validated; filled by load_matching_settings.
    _listed_domains: list[tuple[str, str, str]] = PrivateAttr(default_factory=list)

    @property
    def listed_domains(self) -> list[tuple[str, str, str]]:
        return self._listed_domains

    @field_validator("default_country")
    @classmethod
    def _iso(cls, value: str) -> str:
        import pycountry

        if pycountry.countries.get(alpha_2=value.upper()) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, DE, JP)")
        return value.upper()


def load_matching_settings(path: str | Path) -> MatchingSettings:
    """``matching.yaml`` (a missing file means the defaults) and the account domain list it names;
    every problem at its file and line."""
    settings = read_settings(path, MatchingSettings, missing_ok=True)[0]
    if settings.domains.file:
        listed = Path(path).parent / settings.domains.file
        display = str(Path(Path(path).parent.name) / settings.domains.file)
        if listed.exists() and not listed.resolve().is_relative_to(Path(path).parent.resolve()):  # a link out
            raise ConfigError([ConfigProblem(SourceRef(str(path), 1), f"domains.file {settings.domains.file!r} "
                                                                      f"leads outside the rules folder")])
        settings._listed_domains = read_domain_list(listed, display) if listed.exists() else []
    return settings
