"""rules/match.yaml: how records are matched and which links are forbidden.

`blocking`, `comparisons` and the two probability thresholds drive the probabilistic engine in
`mdm.match` (blocking -> comparisons -> Fellegi-Sunter model -> score); `cannot_link` the hard
conflicts clustering never crosses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mdm.config.errors import parse_model

DEFAULT_RULES_DIR = (Path(__file__).parents[1] / "bundled" / "rules").resolve()  # the repository's rules/


class CannotLink(BaseModel):
    """Hard conflicts: records that may never be one person, whatever their score, and are never
    joined through a third record either (mdm/cluster/conflicts.py). Two clusters holding one
    strong id (a dictionary field marked unique_per_person) are exempt from all three."""

    model_config = ConfigDict(extra="forbid")
    different_birth_date: bool = Field(
        default=True,
        description="both birth dates present and clearly different (a swapped day/month or one typed digit is not)",
    )
    different_given_name: bool = Field(
        default=True,
        description="the same or a near-equal family name, given names that are neither nicknames, initials,"
        " the middle name nor spelling variants of each other: a household member or a twin",
    )
    different_names: bool = Field(
        default=True,
        description="both records carry a given and a family name and share none of them (not the same,"
        " a nickname, an initial, a spelling variant, nor one's given name the other's family name)",
    )


# ---- blocking ---------------------------------------------------------------------------------


class KeyPart(BaseModel):
    """One part of a blocking key: a standardized column, or its first `prefix_chars` characters
    (`{column: birth_date_key, prefix_chars: 4}` is the birth year)."""

    model_config = ConfigDict(extra="forbid")
    column: str
    prefix_chars: int | None = Field(default=None, ge=1)


class BlockingRule(BaseModel):
    """Records whose key parts are all present and equal become candidate pairs.

    (The list is `key`, not `on`: YAML reads a bare `on` as true.)

    A broader key finds more true pairs (recall) and more pairs to score (time); a key value
    shared by more than `max_block_size` records is skipped and reported.
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    key: list[KeyPart] = Field(min_length=1)
    other_key: list[KeyPart] | None = Field(
        default=None,
        description="the other record's parts, matched part by part against `key`: [family_name_key,"
        " given_name_key] against key [given_name_key, family_name_key] pairs names written in the other order",
    )
    max_block_size: int | None = Field(default=None, ge=2, description="overrides the file's max_block_size")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, value: Any) -> Any:
        if isinstance(value, dict) and True in value:
            raise ValueError("YAML reads a bare `on` as true; name the list `key`, e.g. key: [email_key]")
        return value

    @model_validator(mode="after")
    def _same_length(self) -> BlockingRule:
        if self.other_key is not None and len(self.other_key) != len(self.key):
            raise ValueError(
                "other_key needs as many parts as key, e.g. key: [given_name_key, family_name_key],"
                " other_key: [family_name_key, given_name_key]"
            )
        return self

    @field_validator("key", "other_key", mode="before")
    @classmethod
    def _bare_columns(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(part.column for part in [*self.key, *(self.other_key or [])]))


# ---- comparisons ------------------------------------------------------------------------------

LevelKind = Literal[
    "missing",
    "exact",
    "nickname",
    "jaro_winkler",
    "levenshtein",
    "damerau_levenshtein",
    "email_typo",
    "initial",
    "transposed",
    "lone_name_is_family",
    "day_month_swapped",
    "year_off_by_one",
    "within_days",
    "last_chars_equal",
    "email_local_part_equal",
    "else",
]
"""How a comparison level decides; see mdm/match/comparisons.py for each kind's test.
`missing` is the null level (a bare `null` in YAML is no value at all)."""

# kind -> (number of columns, required parameter or None, a literal example shown as the fix)
LEVEL_KINDS: dict[str, tuple[int | None, str | None, str]] = {
    "missing": (None, None, "{label: missing, kind: missing}"),
    "exact": (1, None, "{label: exact, kind: exact}"),
    "nickname": (2, None, "{label: nickname, kind: nickname, columns: [given_name_canonical, given_name_canonicals]}"),
    "jaro_winkler": (1, "min_similarity", "{label: jw_0.92, kind: jaro_winkler, min_similarity: 0.92}"),
    "levenshtein": (1, "max_distance", "{label: one_typo, kind: levenshtein, max_distance: 1}"),
    "damerau_levenshtein": (1, "max_distance", "{label: one_typo, kind: damerau_levenshtein, max_distance: 1}"),
    "email_typo": (1, "max_distance", "{label: one_or_two_typos, kind: email_typo, max_distance: 2}"),
    "initial": (1, None, "{label: initial, kind: initial}"),
    "transposed": (2, None, "{label: transposed, kind: transposed, columns: [given_name_key, family_name_key]}"),
    "lone_name_is_family": (
        2,
        None,
        "{label: lone_name_is_family, kind: lone_name_is_family, columns: [given_name_key, family_name_key]}",
    ),
    "day_month_swapped": (1, None, "{label: day_month_swapped, kind: day_month_swapped}"),
    "year_off_by_one": (1, None, "{label: year_off_by_one, kind: year_off_by_one}"),
    "within_days": (1, "max_days", "{label: within_a_month, kind: within_days, max_days: 31}"),
    "last_chars_equal": (1, "last_chars", "{label: last_7_digits, kind: last_chars_equal, last_chars: 7}"),
    "email_local_part_equal": (1, None, "{label: same_local_part, kind: email_local_part_equal}"),
    "else": (None, None, "{label: else, kind: else}"),
}


class ComparisonLevel(BaseModel):
    """One level of a comparison. `columns` defaults to the comparison's `column`."""

    model_config = ConfigDict(extra="forbid")
    label: str
    kind: LevelKind
    columns: list[str] | None = None
    min_similarity: float | None = Field(default=None, gt=0, le=1)
    max_distance: int | None = Field(default=None, ge=1)
    last_chars: int | None = Field(default=None, ge=1)
    max_days: int | None = Field(default=None, ge=1)
    term_frequency_adjusted: bool = Field(
        default=False,
        description="exact levels only: u becomes the frequency of the agreed value, so a rare name "
        "weighs more than a common one",
    )

    @model_validator(mode="after")
    def _parameters(self) -> ComparisonLevel:
        count, parameter, example = LEVEL_KINDS[self.kind]
        if parameter is not None and getattr(self, parameter) is None:
            raise ValueError(f"a {self.kind} level needs `{parameter}`, e.g. {example}")
        if self.columns is not None and count is not None and len(self.columns) != count:
            raise ValueError(f"a {self.kind} level takes {count} column(s), e.g. {example}")
        if count == 2 and self.columns is None:
            raise ValueError(f"a {self.kind} level names its two columns, e.g. {example}")
        if self.term_frequency_adjusted and self.kind != "exact":
            raise ValueError(
                "term_frequency_adjusted applies to exact levels only, "
                "e.g. {kind: exact, term_frequency_adjusted: true}"
            )
        return self

    def columns_or(self, default: str) -> list[str]:
        return list(self.columns) if self.columns else [default]


class Comparison(BaseModel):
    """An ordered list of labelled levels: null level first, else level last; the first level
    whose test holds for a pair is the pair's level."""

    model_config = ConfigDict(extra="forbid")
    name: str
    column: str = Field(description="the column a level reads when it names no columns")
    levels: list[ComparisonLevel] = Field(min_length=3)

    @model_validator(mode="after")
    def _shape(self) -> Comparison:
        kinds = [level.kind for level in self.levels]
        if kinds[0] != "missing" or kinds.count("missing") != 1:
            raise ValueError("the first level, and only it, is the null level, e.g. - {label: missing, kind: missing}")
        if kinds[-1] != "else" or kinds.count("else") != 1:
            raise ValueError("the last level, and only it, is the else level, e.g. - {label: else, kind: else}")
        labels = [level.label for level in self.levels]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"level labels {repeated} repeat; give each level its own label")
        return self

    @property
    def required_columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for level in self.levels:
            if level.kind != "else":
                seen.update(dict.fromkeys(level.columns_or(self.column)))
        return list(seen)


class TrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    u_sample_pairs: int = Field(default=1_000_000, ge=1000, description="random record pairs used to estimate u")
    seed: int = 20261122
    max_iterations: int = Field(default=25, ge=1)
    tolerance: float = Field(default=1e-4, gt=0, description="EM stops when no probability moves more than this")
    min_records: int = Field(
        default=1000, ge=2, description="fewer records than this use the model shipped beside the rules instead"
    )


# ---- the steward review queue and what its answers teach ----------------------------------------


class ReviewSettings(BaseModel):
    """The review queue (mdm/cluster/review.py): one item per pair of golden customers, ranked by
    what a decision changes; `daily_capacity` items a run."""

    model_config = ConfigDict(extra="forbid")
    daily_capacity: int = Field(
        default=1000,
        ge=1,
        description="items the review_queue holds after a run (the best ranked); the rest wait for the next runs",
    )
    conflict_bits: float = Field(
        default=28.0,
        ge=0,
        description="how many bits of evidence against a hard conflict counts for: a pair a conflict blocked"
        " enters the queue only when its match weight less these bits still reaches the review threshold",
    )


class LearningSettings(BaseModel):
    """Steward answers as labels (mdm/match/learn.py): they re-estimate m and the thresholds."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(
        default=True,
        description="re-estimate m and the thresholds from the stewards' same / not-same answers on every run",
    )
    em_weight: float = Field(
        default=10_000,
        gt=0,
        description="how many labels the m probabilities as trained count for when the answers are blended in",
    )


# ---- the file ---------------------------------------------------------------------------------


class MatchRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 2
    max_block_size: int = Field(default=50, ge=2)
    cannot_link: CannotLink = Field(default_factory=CannotLink)
    blocking: list[BlockingRule] = Field(default_factory=list)
    comparisons: list[Comparison] = Field(default_factory=list)
    threshold_match_probability: float = Field(default=0.95, gt=0, lt=1)
    threshold_review_probability: float = Field(default=0.5, gt=0, lt=1)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)

    @model_validator(mode="before")
    @classmethod
    def _no_deterministic_rules(cls, value: Any) -> Any:
        if isinstance(value, dict) and "rules" in value:
            raise ValueError(
                "`rules` (equal-key rules) were replaced in version 2 by `blocking` and `comparisons`: delete"
                " `rules` and put each key list under blocking, e.g. blocking: [{name: email, key: [email_key]}]"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MatchRules:
        if self.threshold_review_probability > self.threshold_match_probability:
            raise ValueError(
                "threshold_review_probability is above threshold_match_probability; "
                "e.g. threshold_match_probability: 0.95, threshold_review_probability: 0.5"
            )
        for what, names in (
            ("blocking rule", [b.name for b in self.blocking]),
            ("comparison", [c.name for c in self.comparisons]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{what} names {repeated} repeat; give each its own name")
        return self


def load_match_rules(path: Path | str = DEFAULT_RULES_DIR / "match.yaml") -> MatchRules:
    return parse_model(MatchRules, Path(path))
