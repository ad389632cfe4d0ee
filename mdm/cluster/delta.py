"""Clustering of an incremental run: only the connected components that changed are clustered again.

Constrained union-find never joins records of different connected components (of the links and
the steward must-links), so each component's clusters and outcomes are a function of that
component alone: its records' profiles, its must-links then links in the order they
are applied, and the steward cannot-links between its records (mdm/cluster/partitioned.py). A
component is *clean* when all of that is exactly last run's:

- every record of it is carried over unchanged (`previous_rid`: same source row, same dates as of
  today, so the same profile) and the records were last run's component in full (none deleted or
  moved out);
- its must-links and links, in the order they are applied, are last run's (a pair whose
  probability moved across the match threshold, or past another link of the component, makes it
  dirty);
- no steward cannot-link touching it was added or revoked.

Which record is left or right in a pair, and the order of the records (a source exporting its rows
in another order renumbers them), change nothing: every conflict check is symmetric and reads the
clusters' records as sets. A clean component takes last run's clusters and outcomes (a label is
the smallest rid of its cluster, so it is taken again from today's rids); the dirty ones are
clustered as in a full run. A pair to review is judged against the final clusters: last run's outcome stands when
both its records are in clean components and it was a pair to review last run; any other is judged
now. So the clusters and every outcome are those of a full run (tests/test_cluster_delta.py,
tests/test_incremental.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from mdm.cluster.constrained import STEWARD_OUTCOME_SCHEMA, Clustering
from mdm.cluster.partitioned import ProfileReader, cluster_in_partitions, judge_across, pairs_frame
from mdm.config.rules import CannotLink

log = logging.getLogger(__name__)

KINDS = ("must", "link", "review", "cannot")
"""The kinds of pair a clustering leaves for the next run (`cluster_pairs`)."""
_RECORDS_SCHEMA = {"rid": pl.Int64, "component": pl.Int64, "label": pl.Int64}
_PAIRS_SCHEMA = {"kind": pl.String, "left": pl.Int64, "right": pl.Int64, "rank": pl.Int64, "outcome": pl.String}


def cluster_fingerprint(rules: CannotLink, strong_ids: Mapping[str, bool]) -> str:
    """What a component's clusters depend on besides its records and links: the conflict rules and
    the strong ids that outweigh them."""
    payload = json.dumps({"cannot_link": rules.model_dump(mode="json"), "strong_ids": strong_ids}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _frame(pairs: list[tuple[int, int]] | pl.DataFrame) -> pl.DataFrame:
    """`left`, `right` (Int64) of record pairs."""
    return pairs_frame(pairs).drop("no")


def edge_sequence(component: pl.Series, must: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Every must-link then every link (`kind`, `left`, `right`, `no`: its place in its list), with
    its component and `rank`: its place in the order union-find applies its component's edges."""
    edges = pl.concat(
        [
            must.select(
                pl.lit("must").alias("kind"), "left", "right", pl.int_range(pl.len(), dtype=pl.Int64).alias("no")
            ),
            links.select(
                pl.lit("link").alias("kind"), "left", "right", pl.int_range(pl.len(), dtype=pl.Int64).alias("no")
            ),
        ]
    )
    return edges.with_columns(component.gather(edges["left"]).alias("component")).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("component").alias("rank")
    )


def leave_clustering(
    component: pl.Series,
    labels: pl.Series,
    must: pl.DataFrame,
    links: pl.DataFrame,
    review: pl.DataFrame,
    cannot: pl.DataFrame,
    outcomes: pl.Series,
    review_outcomes: pl.Series,
    steward_outcomes: pl.Series,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What this run's clustering leaves for the next one: each record's component and label, and
    each edge (with its rank in its component), pair to review and cannot-link with its outcome."""
    rids = pl.int_range(component.len(), eager=True, dtype=pl.Int64)
    records = pl.DataFrame({"rid": rids, "component": component, "label": labels}, schema=_RECORDS_SCHEMA)
    edges = edge_sequence(component, _frame(must), _frame(links))
    edges = edges.with_columns(pl.concat([steward_outcomes, outcomes]).alias("outcome"))
    pairs = pl.concat(
        [
            edges.select(list(_PAIRS_SCHEMA)),
            _frame(review).select(
                pl.lit("review").alias("kind"),
                "left",
                "right",
                pl.lit(None, pl.Int64).alias("rank"),
                review_outcomes.alias("outcome"),
            ),
            _frame(cannot).select(
                pl.lit("cannot").alias("kind"),
                "left",
                "right",
                pl.lit(None, pl.Int64).alias("rank"),
                pl.lit(None, pl.String).alias("outcome"),
            ),
        ]
    )
    return records, pairs.cast(_PAIRS_SCHEMA)  # type: ignore[arg-type]


def _in_last_run(pairs: pl.DataFrame, previous: pl.Series) -> pl.DataFrame:
    """`pairs` with their records' rids in the last run, the smaller first (`pl`, `pr`; both null
    when a record is new or changed)."""
    return pairs.with_columns(
        previous.gather(pairs["left"]).alias("pl"), previous.gather(pairs["right"]).alias("pr")
    ).with_columns(_unordered("pl", "pr"))


def _unordered(left: str, right: str) -> list[pl.Expr]:
    """The two records of a pair, the smaller first, under their own names (null if either is)."""
    both = pl.col(left).is_not_null() & pl.col(right).is_not_null()
    return [
        pl.when(both).then(pl.min_horizontal(left, right)).alias(left),
        pl.when(both).then(pl.max_horizontal(left, right)).alias(right),
    ]


@dataclass(frozen=True)
class Carried:
    """What the clean components keep of last run: `clean` per record (today's rids), and for the
    records, links, must-links and pairs to review of clean components their label and outcomes."""

    clean: pl.Series
    labels: pl.DataFrame
    """`rid`, `label` (today's rids) of every record in a clean component."""
    edges: pl.DataFrame
    """`kind` (must / link), `no` (its place in today's list), `outcome` of the edges of clean components."""
    review: pl.DataFrame
    """`no` (its place in today's pairs to review), `outcome`: the pairs last run judged that still stand."""


def carried_clustering(
    previous: pl.Series,
    component: pl.Series,
    must: pl.DataFrame,
    links: pl.DataFrame,
    review: pl.DataFrame,
    cannot: pl.DataFrame,
    before_records: pl.DataFrame,
    before_pairs: pl.DataFrame,
) -> Carried:
    """Which of today's components are clean (module docstring) and what they keep of last run.

    `previous`: each record's rid in the last run (null: new, changed, or a date reads otherwise
    today); `component`: each record's component today (its smallest rid); `must`, `links`,
    `review`, `cannot`: today's pairs (`left`, `right` rids) in order; `before_records`,
    `before_pairs`: what the last run left (`leave_clustering`), by its rids."""
    records = component.len()
    rid = pl.int_range(records, eager=True, dtype=pl.Int64)
    today = pl.DataFrame({"rid": rid, "component": component, "prev": previous.cast(pl.Int64)})
    old = before_records.select(
        pl.col("rid").alias("prev"), pl.col("component").alias("old"), pl.col("label").alias("old_label")
    )
    sizes = old.group_by("old").agg(pl.len().alias("old_size"))
    joined = today.join(old, on="prev", how="left", maintain_order="left")
    per = (
        joined.group_by("component")
        .agg(
            pl.col("prev").is_not_null().all().alias("carried"),
            pl.col("old").n_unique().alias("olds"),
            pl.col("old").first().alias("old"),
            pl.len().alias("size"),
        )
        .join(sizes, on="old", how="left")
        .with_columns((pl.col("carried") & (pl.col("olds") == 1) & (pl.col("size") == pl.col("old_size"))).alias("ok"))
    )
    # the edges, in the order union-find applies them, mapped to last run's rids
    prev_of = today["prev"]
    edges = _in_last_run(edge_sequence(component, _frame(must), _frame(links)), prev_of)
    edges = edges.join(per.select("component", "old"), on="component", how="left")
    old_edges = before_pairs.filter(pl.col("kind").is_in(["must", "link"])).join(
        old.select(pl.col("prev").alias("left"), "old"), on="left", how="left"
    )
    matched = edges.join(
        old_edges.select(
            "old",
            "rank",
            pl.col("kind").alias("ok_kind"),
            pl.col("left").alias("ol"),
            pl.col("right").alias("or"),
            "outcome",
        ).with_columns(_unordered("ol", "or")),
        on=["old", "rank"],
        how="left",
    ).with_columns(
        ((pl.col("kind") == pl.col("ok_kind")) & (pl.col("pl") == pl.col("ol")) & (pl.col("pr") == pl.col("or")))
        .fill_null(False)
        .alias("same")
    )
    edges_ok = matched.group_by("component").agg(pl.col("same").all().alias("edges_same"), pl.len().alias("edges"))
    old_counts = old_edges.group_by("old").agg(pl.len().alias("old_edges"))
    per = (
        per.join(edges_ok, on="component", how="left")
        .join(old_counts, on="old", how="left")
        .with_columns(
            pl.col("edges_same").fill_null(True),
            pl.col("edges").fill_null(0),
            pl.col("old_edges").fill_null(0),
        )
        .with_columns((pl.col("ok") & pl.col("edges_same") & (pl.col("edges") == pl.col("old_edges"))).alias("ok"))
    )
    # a cannot-link added or revoked makes its records' components dirty
    cannot_today = _in_last_run(_frame(cannot), prev_of)
    cannot_before = (
        before_pairs.filter(pl.col("kind") == "cannot")
        .select(pl.col("left").alias("pl"), pl.col("right").alias("pr"))
        .with_columns(_unordered("pl", "pr"))
    )
    unmatched_today = cannot_today.join(cannot_before, on=["pl", "pr"], how="anti")
    gone = cannot_before.join(cannot_today.drop_nulls(["pl", "pr"]), on=["pl", "pr"], how="anti")
    back = old.select("prev", "old")  # a revoked cannot-link's records: dirty by their old components
    touched = pl.concat(
        [
            component.gather(unmatched_today["left"]),
            component.gather(unmatched_today["right"]),
        ]
    )
    touched_old = pl.concat(
        [
            back.join(gone.select(pl.col("pl").alias("prev")), on="prev")["old"],
            back.join(gone.select(pl.col("pr").alias("prev")), on="prev")["old"],
        ]
    )
    per = per.with_columns(
        (pl.col("ok") & ~pl.col("component").is_in(touched.implode()) & ~pl.col("old").is_in(touched_old.implode()))
        .fill_null(False)
        .alias("ok")
    )
    clean_components = per.filter(pl.col("ok")).select("component", "old")
    clean = today.join(clean_components, on="component", how="left", maintain_order="left")["old"].is_not_null()
    # labels: a clean component's clusters are last run's; a label is the smallest record of its cluster
    kept = joined.filter(clean).select("rid", "old_label")
    labels = kept.with_columns(pl.col("rid").min().over("old_label").alias("label")).select("rid", "label")
    kept_edges = matched.filter(pl.col("component").is_in(clean_components["component"].implode())).select(
        "kind", "no", "outcome"
    )
    # pairs to review: last run's outcome where both records are clean and it was judged last run
    judged = (
        before_pairs.filter(pl.col("kind") == "review")
        .select(pl.col("left").alias("pl"), pl.col("right").alias("pr"), "outcome")
        .with_columns(_unordered("pl", "pr"))
        .unique(["pl", "pr"])
    )
    clean_prev = today.filter(clean).select("prev")["prev"]
    reviewed = (
        _in_last_run(pairs_frame(review), prev_of)
        .filter(pl.col("pl").is_in(clean_prev.implode()) & pl.col("pr").is_in(clean_prev.implode()))
        .join(judged, on=["pl", "pr"], how="inner")
        .select("no", "outcome")
    )
    log.info(
        "incremental clustering: %d of %d components clean (%d of %d records)",
        clean_components.height,
        per.height,
        int(clean.sum()),
        records,
    )
    return Carried(clean, labels, kept_edges, reviewed)


def cluster_changed(
    read_profiles: ProfileReader,
    links: pl.DataFrame,
    rules: CannotLink,
    partitions_for: Callable[[int], int],
    carried: Carried,
    *,
    must_link: list[tuple[int, int]],
    cannot_link: list[tuple[int, int]],
    review_pairs: pl.DataFrame,
) -> Clustering:
    """`cluster_records` over every record, the clean components taken from `carried` and the dirty
    ones clustered again (`partitions_for`: the partitions for so many records): the same labels
    and outcomes, in the same order."""
    records = carried.clean.len()
    dirty = pl.arg_where(~carried.clean, eager=True).cast(pl.Int64)
    index = pl.DataFrame({"rid": dirty, "local": pl.int_range(dirty.len(), eager=True, dtype=pl.Int64)})

    def inside(pairs: list[tuple[int, int]] | pl.DataFrame) -> pl.DataFrame:
        """The pairs with both records dirty (`no`: place in the list), in local numbers, in order."""
        return (
            pairs_frame(pairs)
            .join(index.rename({"rid": "left", "local": "l"}), on="left", how="inner", maintain_order="left")
            .join(index.rename({"rid": "right", "local": "r"}), on="right", how="inner", maintain_order="left")
            .select("no", pl.col("l").alias("left"), pl.col("r").alias("right"))
        )

    my_links, my_must, my_cannot, my_review = (inside(p) for p in (links, must_link, cannot_link, review_pairs))
    result = cluster_in_partitions(
        lambda wanted: read_profiles(dirty.gather(wanted)),
        dirty.len(),
        my_links.select("left", "right"),
        rules,
        partitions_for(dirty.len()),
        must_link=list(my_must.select("left", "right").iter_rows()),
        cannot_link=list(my_cannot.select("left", "right").iter_rows()),
        review_pairs=my_review.select("left", "right"),
    )
    labels = pl.int_range(records, eager=True, dtype=pl.Int64)
    labels.scatter(carried.labels["rid"], carried.labels["label"])
    labels.scatter(dirty, dirty.gather(pl.Series(result.labels, dtype=pl.Int64)))
    outcomes: list[str] = [""] * links.height
    for no, outcome in carried.edges.filter(pl.col("kind") == "link").select("no", "outcome").iter_rows():
        outcomes[no] = outcome
    for no, outcome in zip(my_links["no"], result.outcomes, strict=True):
        outcomes[no] = outcome
    must = _frame(must_link)
    steward: list[str] = [""] * must.height
    for no, outcome in carried.edges.filter(pl.col("kind") == "must").select("no", "outcome").iter_rows():
        steward[no] = outcome
    for no, outcome in zip(my_must["no"], result.steward["outcome"], strict=True):
        steward[no] = outcome
    review = pairs_frame(review_pairs)
    review_outcomes: list[str | None] = [None] * review.height
    for no, outcome in carried.review.iter_rows():
        review_outcomes[no] = outcome
    for no, outcome in zip(my_review["no"], result.review_outcomes, strict=True):
        review_outcomes[no] = outcome
    rest = review.filter(pl.Series([o is None for o in review_outcomes], dtype=pl.Boolean))
    same = labels.gather(rest["left"]) == labels.gather(rest["right"])
    for no in rest.filter(same)["no"]:
        review_outcomes[no] = "same cluster"
    across = rest.filter(~same)
    for no, outcome in zip(
        across["no"], judge_across(read_profiles, labels, across, _frame(cannot_link), rules), strict=True
    ):
        review_outcomes[no] = outcome
    log.info(
        "cluster: %d records in changed components clustered again, %d pairs to review judged again",
        dirty.len(),
        my_review.height + rest.height,
    )
    return Clustering(
        labels.to_list(),
        outcomes,
        [o or "" for o in review_outcomes],
        must.with_columns(pl.Series("outcome", steward, dtype=pl.String)).cast(STEWARD_OUTCOME_SCHEMA),  # type: ignore[arg-type]
    )
