"""A peer run: Splink 5 on DuckDB over the same converted data, scored the same way as our master.

    make bench-peer BENCH_ARGS="--datasets fake_1000,historical_50k,generated_10000"
    .venv-peer/bin/python bench/bench_splink.py [--datasets ...] [--configs example,dictionary]
        [--work /tmp/mdm-bench/accuracy] [--data DIR] [--results FILE.jsonl]

Splink (MIT) is installed in its own .venv-peer (`pip install -e '.[peer]'`), never in .venv.
Each (data set, configuration) runs in a child process so its seconds and peak memory (the
child and any workers, sampled from /proc) are its own. Clusters are written as a
`customer_xref` table and scored by bench/evaluate_master.py's `evaluate`, exactly as our
master is: pairwise precision / recall / F1 over the records both sides hold.

Two configurations (every choice is written below, as data):

- `example`: Splink's own example for the data set, on the file's original columns
  (fake_1000: the quickstart in Splink's README; historical_50k: the "deduplicate 50k
  synthetic" example, which also uses birth_place and occupation). This reproduces the peer
  figures of ../shared/benchmarks/README.md here.
- `dictionary`: what our product sees. The records are read through the product's own
  ingest (sources.yaml mapping, same quarantine), so Splink gets the same rows and only the
  dictionary fields, lightly normalised (lower-case trimmed names, dates parsed with the
  declared format, phone digits, upper-case postcode without spaces; a whole name split into
  given and family by its declared order). One generic model over whatever of given_name,
  family_name, birth_date, email, phone, postal_code, city, birth_place, occupation a data set has. This is the
  like-for-like comparison with `mdm run`, and the only one for generated_N (four sources of
  different shapes, deduplicated together).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from datasets import SHARED_ENV, convert, parse_datasets  # noqa: E402
from evaluate_master import evaluate  # noqa: E402
from memory import PeakTreeRss  # noqa: E402

DEFAULT_DATASETS = "fake_1000,historical_50k,generated_10000"
CONFIGS = ("example", "dictionary")
SEED = 20261124
# Clusters are the connected components of pairs at or above this probability (as in the
# README's peer figures for historical_50k and FEBRL3; Splink's quickstart uses 0.95 too).
# Lowering it increases recall, raising it increases precision.
THRESHOLD_CLUSTER_PROBABILITY = 0.95
THRESHOLD_PREDICT_PROBABILITY = 0.2  # pairs kept from predict(); clustering applies the threshold above


# --- the two configurations ---------------------------------------------------------------


def example_model(dataset: str) -> dict[str, Any]:
    """Splink's own example configuration for fake_1000 / historical_50k, as data."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if dataset == "fake_1000":
        # The quickstart of Splink's README (splink_datasets.fake_1000).
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=[
                cl.NameComparison("first_name"),
                cl.JaroAtThresholds("surname"),
                cl.DateOfBirthComparison("dob", input_is_string=True),
                cl.ExactMatch("city").configure(term_frequency_adjustments=True),
                cl.EmailComparison("email"),
            ],
            blocking_rules_to_generate_predictions=[block_on("first_name", "dob"), block_on("surname")],
        )
        return {
            "settings": settings,
            "prior_rules": [block_on("first_name", "surname")],
            "prior_recall": 0.7,
            "u_max_pairs": 1e6,
            "em_rules": [block_on("first_name", "surname"), block_on("email")],
        }
    if dataset == "historical_50k":
        # Splink's example docs/demos/examples/duckdb/deduplicate_50k_synthetic (splink repository):
        # its ten blocking rules, comparisons (birth_place and occupation included), training.
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=[
                cl.ForenameSurnameComparison(
                    "first_name", "surname", forename_surname_concat_col_name="first_name_surname_concat"
                ),
                cl.DateOfBirthComparison("dob", input_is_string=True),
                cl.PostcodeComparison("postcode_fake"),
                cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
                cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
            ],
            blocking_rules_to_generate_predictions=[
                block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
                block_on("surname", "dob"),
                block_on("first_name", "dob"),
                block_on("postcode_fake", "first_name"),
                block_on("postcode_fake", "surname"),
                block_on("dob", "birth_place"),
                block_on("substr(postcode_fake,1,3)", "dob"),
                block_on("substr(postcode_fake,1,3)", "first_name"),
                block_on("substr(postcode_fake,1,3)", "surname"),
                block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
            ],
        )
        return {
            "settings": settings,
            "prior_rules": [
                block_on("first_name", "surname", "dob"),
                block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
                block_on("dob", "postcode_fake"),
            ],
            "prior_recall": 0.6,
            "u_max_pairs": 1e7,
            "em_rules": [block_on("first_name", "surname"), block_on("dob")],
        }
    raise SystemExit(f"no Splink example configuration for {dataset}: use --configs dictionary")


def example_input(dataset: str, directory: Path) -> pl.DataFrame:
    """The converted source file as it is (all its original columns, every value text)."""
    frame = pl.read_csv(directory / "sources" / f"{dataset}.csv", infer_schema=False)
    frame = frame.with_columns(unique_id=pl.lit(dataset + "|") + pl.col("unique_id"))
    if dataset == "historical_50k":
        frame = frame.with_columns(first_name_surname_concat=pl.concat_str("first_name", "surname", separator=" "))
    return frame


DICTIONARY_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "email",
    "phone",
    "postal_code",
    "city",
    "birth_place",
    "occupation",
)


def dictionary_model(columns: set[str], country: str) -> dict[str, Any]:
    """One generic model over the dictionary fields present (the `dictionary` configuration)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    has = columns.__contains__
    comparisons = [
        cl.NameComparison(c).configure(term_frequency_adjustments=True) for c in ("given_name", "family_name") if has(c)
    ]
    if has("birth_date"):
        comparisons.append(cl.DateOfBirthComparison("birth_date", input_is_string=True))
    if has("email"):
        comparisons.append(cl.EmailComparison("email"))
    if has("phone"):
        comparisons.append(cl.LevenshteinAtThresholds("phone", [1, 2]))
    if has("postal_code"):
        # PostcodeComparison's sector / district levels follow the UK format; elsewhere exact only.
        comparisons.append(cl.PostcodeComparison("postal_code") if country == "GB" else cl.ExactMatch("postal_code"))
    for column in ("city", "birth_place", "occupation"):
        if has(column):
            comparisons.append(cl.ExactMatch(column).configure(term_frequency_adjustments=True))
    rules = [
        cols
        for cols in (
            ("given_name", "birth_date"),
            ("family_name", "birth_date"),
            ("given_name", "family_name"),
            ("email",),
            ("phone",),
            ("family_name", "postal_code"),
            ("family_name", "birth_place"),
        )
        if all(map(has, cols))
    ]
    em = [cols for cols in (("given_name", "family_name"), ("birth_date",), ("email",)) if all(map(has, cols))]
    return {
        "settings": SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons,
            blocking_rules_to_generate_predictions=[block_on(*cols) for cols in rules],
        ),
        "prior_rules": [block_on(*c) for c in (("given_name", "family_name", "birth_date"),) if all(map(has, c))]
        or [block_on(*rules[0])],
        "prior_recall": 0.7,
        "u_max_pairs": 1e6,
        "em_rules": [block_on(*cols) for cols in em],
    }


def _split_full_name(full: pl.Expr, order: str | None) -> tuple[pl.Expr, pl.Expr]:
    """Given and family name from a whole name in its declared order (first and last word; comma form)."""
    words = full.str.strip_chars().str.split(" ")
    if order == "family, given middle":
        parts = full.str.split_exact(",", 1)
        given = parts.struct.field("field_1").str.strip_chars().str.split(" ").list.first()
        return given, parts.struct.field("field_0").str.strip_chars()
    if order in ("family given middle",):
        return words.list.get(1, null_on_oob=True), words.list.first()
    if order in ("family middle given",):
        return words.list.last(), words.list.first()
    return words.list.first(), words.list.last()  # "given middle family", the default


def dictionary_input(sources_yaml: Path) -> tuple[pl.DataFrame, str]:
    """Every source read through the product's ingest (same rows, same mapping), lightly normalised."""
    from mdm.config import load_sources
    from mdm.config.dictionary import load_dictionary
    from mdm.ingest import ingest_source

    config = load_sources(sources_yaml)
    dictionary = load_dictionary(config.relative(config.dictionary)) if config.dictionary else load_dictionary()
    frames = []
    for source in config.sources:
        staged = ingest_source(config, source, dictionary).staged
        present = set(staged.columns)

        def col(name: str, present: set[str] = present) -> pl.Expr:
            return pl.col(name).cast(pl.String) if name in present else pl.lit(None, pl.String)

        given, family = col("given_name"), col("family_name")
        if "full_name" in present:
            split_given, split_family = _split_full_name(col("full_name"), source.fields["full_name"].format)
            given, family = given.fill_null(split_given), family.fill_null(split_family)
        birth = col("birth_date")
        if "birth_date" in source.fields and source.fields["birth_date"].format:
            birth = birth.str.strip_chars().str.strptime(pl.Date, source.fields["birth_date"].format, strict=False)
        frames.append(
            staged.select(
                (pl.lit(source.name + "|") + pl.col("source_record_id")).alias("unique_id"),
                given.str.strip_chars().str.to_lowercase().alias("given_name"),
                family.str.strip_chars().str.to_lowercase().alias("family_name"),
                birth.cast(pl.String).alias("birth_date"),
                col("email").str.strip_chars().str.to_lowercase().alias("email"),
                col("phone").str.replace_all(r"\D", "").str.slice(-10).alias("phone"),
                col("postal_code").str.to_uppercase().str.replace_all(" ", "").alias("postal_code"),
                col("city").str.strip_chars().str.to_lowercase().alias("city"),
                col("birth_place").str.strip_chars().str.to_lowercase().alias("birth_place"),
                col("occupation").str.strip_chars().str.to_lowercase().alias("occupation"),
            )
        )
    frame = pl.concat(frames).with_columns(pl.col(DICTIONARY_COLUMNS).replace("", None))
    keep = [c for c in DICTIONARY_COLUMNS if frame[c].null_count() < frame.height]  # drop fields no source has
    countries = {s.country for s in config.sources}
    return frame.select("unique_id", *keep), countries.pop() if len(countries) == 1 else "XX"


# --- one run (in a child process) ------------------------------------------------------------


def run_one(dataset: str, config: str, work: Path, data: Path | None) -> dict[str, Any]:
    import splink
    from splink import DuckDBAPI, Linker

    converted = convert(dataset, work / "data", data)
    if config == "example":
        frame, model = example_input(dataset, converted.directory), example_model(dataset)
    else:
        frame, country = dictionary_input(converted.sources)
        model = dictionary_model(set(frame.columns), country)
    started = time.perf_counter()
    con = duckdb.connect()
    con.register("records_arrow", frame.to_arrow())
    con.sql("CREATE TABLE records AS SELECT * FROM records_arrow")
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("records"), model["settings"], log_level=None)
    linker.training.estimate_probability_two_random_records_match(model["prior_rules"], recall=model["prior_recall"])
    linker.training.estimate_u_using_random_sampling(max_pairs=model["u_max_pairs"], seed=SEED)
    for rule in model["em_rules"]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
    pairs = linker.inference.predict(threshold_match_probability=THRESHOLD_PREDICT_PROBABILITY)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pairs, threshold_match_probability=THRESHOLD_CLUSTER_PROBABILITY
    )
    xref = pl.from_arrow(clusters.as_pyarrow_table()).select("unique_id", "cluster_id")
    seconds = time.perf_counter() - started
    assert isinstance(xref, pl.DataFrame)
    xref = xref.select(
        pl.col("unique_id").str.split_exact("|", 1).struct.field("field_0").alias("source"),
        pl.col("unique_id").str.split_exact("|", 1).struct.field("field_1").alias("source_record_id"),
        pl.col("cluster_id").cast(pl.String).alias("golden_id"),
    )
    out = work / "splink" / f"{dataset}-{config}.duckdb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with duckdb.connect(str(out)) as master:  # a one-table "master" so evaluate() scores it as it scores ours
        master.register("xref_arrow", xref.to_arrow())
        master.sql("CREATE TABLE customer_xref AS SELECT * FROM xref_arrow")
    return {
        "dataset": dataset,
        "config": config,
        "splink_version": splink.__version__,
        "duckdb_version": duckdb.__version__,
        "input_records": frame.height,
        "input_columns": [c for c in frame.columns if c != "unique_id"],
        **evaluate(out, converted.truth),
        "splink_seconds": round(seconds, 1),
        "threshold_cluster_probability": THRESHOLD_CLUSTER_PROBABILITY,
    }


# --- the driver ---------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| dataset | config | records | true pairs | predicted pairs | precision | recall | F1 "
        "| Splink s | process s | peak MiB |"
    )
    lines = [head, "|" + "---|" * (head.count(" | ") + 1)]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['config']} | failed: {r['error'].splitlines()[-1]} |" + " |" * 8)
            continue
        lines.append(
            f"| {r['dataset']} | {r['config']} | {r['records']:,} | {r['true_pairs']:,} | {r['predicted_pairs']:,} "
            f"| {_fmt(r['precision'])} | {_fmt(r['recall'])} | {_fmt(r['f1'])} | {r['splink_seconds']:.1f} "
            f"| {r['seconds']:.1f} | {r['peak_rss_mib']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help="comma-separated (see bench/datasets.py)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="example (Splink's own), dictionary, or both")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mdm-bench/accuracy"))
    parser.add_argument("--data", type=Path, default=None, help=f"splink_datasets directory (or ${SHARED_ENV})")
    parser.add_argument("--results", type=Path, default=None, help="JSON lines out (default: WORK/splink.jsonl)")
    parser.add_argument("--one", nargs=2, metavar=("DATASET", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.one:  # the child: one run, its result as the last line of stdout
        print(json.dumps(run_one(args.one[0], args.one[1], work, args.data)))
        return
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if unknown := [c for c in configs if c not in CONFIGS]:
        raise SystemExit(f"unknown configuration(s) {', '.join(unknown)}; choose from {','.join(CONFIGS)}")
    results_path = args.results or work / "splink.jsonl"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for dataset in parse_datasets(args.datasets):
        convert(dataset, work / "data", args.data)  # converted once, outside the timed child
        for config in configs:
            if config == "example" and dataset not in ("fake_1000", "historical_50k"):
                continue
            command = [sys.executable, __file__, "--one", dataset, config, "--work", str(work)]
            command += ["--data", str(args.data)] if args.data else []
            print(f"{dataset} / {config}: running Splink", file=sys.stderr, flush=True)
            started = time.perf_counter()
            with (
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child,
                PeakTreeRss(child.pid) as tree,
            ):
                stdout, stderr = child.communicate()
            seconds = time.perf_counter() - started
            if child.returncode != 0:
                result: dict[str, Any] = {"dataset": dataset, "config": config, "error": stderr.strip()[-2000:]}
            else:
                result = json.loads(stdout.strip().splitlines()[-1])
                result.update(seconds=round(seconds, 1), peak_rss_mib=round(tree.mib))
            result["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            results.append(result)
            with results_path.open("a") as out:
                out.write(json.dumps(result) + "\n")
    print(table(results))
    print(f"\nresults appended to {results_path}")
    if failed := [r for r in results if "error" in r]:
        for r in failed:
            print(f"\n{r['dataset']} / {r['config']}:\n{r['error']}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
