"""The run report: one static HTML page per run beside the master (`<master>.report.html`), from
the run's typed summary and the master it published; the Prefect flow also posts it as a markdown
artifact. What a data team reads after a night: rows per source and quarantine reasons, flagged
values per field and source, candidate pairs per blocking rule, the model's m and u per level,
cluster sizes, the review queue, stale shares by age, the archive, and the trend of the last runs.

The page holds counts and model parameters only, never a customer's value, and needs no script.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from mdm.summary import RunSummary, format_summary

TREND_RUNS = 10


def report_path(master: Path) -> Path:
    return master.with_name(f"{master.stem}.report.html")


class _Html(str):
    """Markup made here (a bar), put into a cell as it is; every other value is escaped."""


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, _Html):
            return str(value)
        if isinstance(value, float):
            return f"{value:.4g}"
        return html.escape("" if value is None else str(value))

    def td(value: Any) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return f"<td class=n>{cell(value)}</td>" if numeric else f"<td>{cell(value)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(td(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(share: float) -> _Html:
    width = max(0, min(100, round(share * 100)))
    return _Html(f'<span class="bar" style="width:{width}px"></span>')


def _master_sections(master: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(master), read_only=True)
    try:
        model = con.sql(
            "SELECT comparison, level, m_probability, u_probability, match_weight FROM match_model ORDER BY rowid"
        ).fetchall()
        sizes = con.sql("SELECT record_count, count(*) FROM golden_customers GROUP BY 1 ORDER BY 1").fetchall()
        weights = con.sql(
            "SELECT floor(match_weight / 5) * 5 AS low, count(*) FROM match_pairs GROUP BY 1 ORDER BY 1"
        ).fetchall()
        trend = con.sql(
            f"""SELECT run_id, metric, round(sum(numerator) / nullif(sum(denominator), 0), 4)
                FROM quality_metrics WHERE source IS NULL AND field IS NULL
                AND run_id IN (SELECT run_id FROM published_runs ORDER BY run_seq DESC LIMIT {TREND_RUNS})
                GROUP BY ALL ORDER BY run_id, metric"""
        ).fetchall()
    finally:
        con.close()
    total = sum(n for _, n in sizes) or 1
    most = max((n for _, n in weights), default=1) or 1
    return [
        ("Match model: m and u per comparison level", _table(["comparison", "level", "m", "u", "weight"], model)),
        (
            "Match weights of the scored pairs",
            _table(["weight from", "pairs", ""], [(low, n, _bar(n / most)) for low, n in weights]),
        ),
        (
            "Golden customers by number of records",
            _table(["records", "customers", "share"], [(size, n, f"{n / total:.1%}") for size, n in sizes]),
        ),
        ("Quality over the last runs (all sources)", _table(["run", "metric", "value"], trend)),
    ]


def render_report(summary: RunSummary) -> str:
    """The page for one published run."""
    s = summary
    counts = ("rows_read", "rows_accepted", "rows_quarantined", "rows_deleted", "records")
    sources = [(c.source, f"{c.kind} ({c.extract})", *(getattr(c, k) for k in counts)) for c in s.ingest.sources]
    sources += [
        (c.source, f"{c.kind} (events)", c.rows_read, c.rows_accepted, c.rows_quarantined, "", "")
        for c in s.ingest.events
    ]
    names = [c.source for c in s.ingest.sources]
    flagged = [(field, *(by.get(n, 0) for n in names)) for field, by in s.standardize.flagged_by_source.items()]
    blocking = [(r["rule"], r.get("pairs", ""), r.get("new_pairs", ""), r.get("skipped", "")) for r in s.match.blocking]
    stale_keys = ("months", "values", "predicted", "flagged", "checked", "observed", "expected")
    stale = [tuple(r[k] for k in stale_keys) for r in s.stale.by_months_since_update]
    sections = [
        (
            "Rows per source",
            _table(["source", "kind", "read", "accepted", "quarantined", "deleted", "records"], sources),
        ),
        (
            "Quarantined rows by reason",
            _table(["rows", "reason"], [(n, r) for r, n in s.ingest.quarantine_reasons.items()]),
        ),
        ("Flagged values by field and source", _table(["field", *names], flagged)),
        ("Candidate pairs per blocking rule", _table(["rule", "pairs", "new pairs", "skipped"], blocking)),
        (
            "Scored pairs and clusters",
            _table(
                ["match", "review", "non-match", "merged", "blocked by conflicts", "golden customers", "review queue"],
                [
                    (
                        s.match.pairs_by_class["match"],
                        s.match.pairs_by_class["review"],
                        s.match.pairs_by_class["non_match"],
                        s.cluster.merged_pairs,
                        s.cluster.blocked_pairs,
                        s.golden.golden_customers,
                        s.publish.tables.get("review_queue", ""),
                    )
                ],
            ),
        ),
        (
            "Stale contact values by months since the record's update: predicted beside observed by evidence",
            _table(list(stale_keys), stale),
        ),
        (
            "Archive (rules/survivorship.yaml archive.inactive_years)",
            _table(
                ["inactive years", "inactive since", "archived customers", "archived", "brought back", "undated"],
                [
                    (
                        "off" if s.archive.inactive_years is None else s.archive.inactive_years,
                        s.archive.inactive_since or "",
                        s.archive.archived_customers,
                        s.archive.archived,
                        s.archive.unarchived,
                        "not counted" if s.archive.undated_customers is None else s.archive.undated_customers,
                    )
                ],
            ),
        ),
        *_master_sections(Path(s.master)),
        ("The run summary as printed", f"<pre>{html.escape(format_summary(s))}</pre>"),
    ]
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    title = f"mdm run {s.run_id}"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>published {html.escape(s.master)} in {s.seconds} s, as of "
        f"{html.escape(s.as_of)}</p>{body}</body></html>\n"
    )


_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}th{background:#f2f2f2}"
    "td.n{text-align:right}.bar{display:inline-block;height:10px;background:#4a7}"
    "pre{background:#f7f7f7;padding:1em;overflow:auto}"
)


def write_report(summary: RunSummary) -> Path:
    """Write the page beside the master (replaced atomically); returns its path."""
    path = report_path(Path(summary.master))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(summary), encoding="utf-8")
    os.replace(tmp, path)
    return path
