"""What every table, view and macro of the published master holds: the source of docs/schema.md.

To document a new table: add a `table(...)` to MASTER_TABLES (in the section where a reader would
look for it), one (name, type, meaning) per column, then run `mdm docs --out docs`. The test
tests/test_master_schema.py publishes the tiny fixture and fails, naming the table and column,
while the master and this list differ. Types are DuckDB's, as `DESCRIBE <table>` prints them.
Column patterns (`<field>_flags`) are explained in mdm/publish/schema.py.
"""

from __future__ import annotations

from mdm.publish.schema import FIELD_TYPE, Macro, Table, table

CUSTOMERS = "Customers"
MATCHING = "Matching and review"
INPUTS = "Source records and quarantine"
RUNS = "Runs, history and quality"

RUN_ID = ("run_id", "VARCHAR", "the run that published this row")

# The value columns of a golden customer: golden_customers has them, and so does every version
# in golden_customers_history.
GOLDEN_VALUES: list[tuple[str, str, str]] = [
    ("<field>", FIELD_TYPE, "the surviving clean value of the field (golden_attribute_lineage says where from)"),
    ("email_key", "VARCHAR", "the e-mail's matching key (lower case, provider rules applied)"),
    ("email_domain", "VARCHAR", "the e-mail's domain"),
    ("emails", "VARCHAR[]", "every valid e-mail of the customer's records, the surviving one first"),
    ("phone_key", "VARCHAR", "the phone's matching key"),
    ("phone_type", "VARCHAR", "mobile, fixed_line, fixed_line_or_mobile, toll_free, voip, ..."),
    ("phone_extension", "VARCHAR", "the phone's extension, if any"),
    ("phones", "VARCHAR[]", "every valid phone (E.164) of the customer's records, the surviving one first"),
    ("address_key", "VARCHAR", "the address's matching key (number, street, unit, postcode)"),
    ("postal_code_zip4", "VARCHAR", "the US ZIP+4 add-on, when a source gave one"),
    ("record_count", "UINTEGER", "accepted source records of this customer"),
    ("sources", "VARCHAR[]", "the sources holding the customer, sorted"),
    ("last_source_update", "TIMESTAMP", "the newest update time among the customer's records"),
]

MASTER_TABLES: list[Table] = [
    table(
        "golden_customers",
        "person (golden customer)",
        "The golden record: one surviving value per dictionary field, chosen by rules/survivorship.yaml,"
        " and the staleness of the contact data as of the run's --as-of.",
        [
            ("golden_id", "VARCHAR", "stable id of the person (G + 9 digits); never reused, see id_events"),
            *GOLDEN_VALUES,
            ("<contact>_last_confirmed", "TIMESTAMP", "update time of the newest record carrying the surviving value"),
            ("<contact>_freshness", "DOUBLE", "(1 - monthly_decay) ** months since last confirmed, 0..1"),
            ("<contact>_is_stale", "BOOLEAN", "the value is probably out of date (superseded or aged)"),
            (
                "<contact>_stale_reason",
                "VARCHAR",
                "why it is stale: superseded by a newer value, or aged past threshold",
            ),
            RUN_ID,
        ],
        section=CUSTOMERS,
    ),
    table(
        "customer_xref",
        "accepted source record",
        "Which golden customer each source record belongs to: the cross-reference CRM operations use"
        " to find a customer's records in the source systems.",
        [
            ("source", "VARCHAR", "source system (its name in sources.yaml)"),
            ("source_record_id", "VARCHAR", "the record's id in that source"),
            ("golden_id", "VARCHAR", "the golden customer the record belongs to"),
            ("row_number", "BIGINT", "the record's row in the source read (1 = first data row)"),
            ("trust", "BIGINT", "the source's trust rank (higher wins survivorship ties)"),
            ("source_updated_at", "TIMESTAMP", "the record's update time in its source"),
            ("<contact>_is_stale", "BOOLEAN", "the record's value of the attribute is stale (NULL: no valid value)"),
            ("is_stale", "BOOLEAN", "any of the record's contact values is stale"),
            ("stale_reason", "VARCHAR", "why, for the stale values"),
            RUN_ID,
        ],
        section=CUSTOMERS,
    ),
    table(
        "golden_attribute_lineage",
        "golden value (golden customer and attribute)",
        "Where each golden value came from and which survivorship rule chose it.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("attribute", "VARCHAR", "the dictionary field, or `address` for the address taken whole"),
            ("value", "VARCHAR", "the surviving value, as text"),
            ("source", "VARCHAR", "source of the record the value came from"),
            ("source_record_id", "VARCHAR", "id of that record"),
            ("rule", "VARCHAR", "the rule that decided (valid, most_trusted, most_recent, most_frequent, ...)"),
            ("source_updated_at", "TIMESTAMP", "that record's update time"),
            ("candidates", "UINTEGER", "records of the customer carrying a value of the attribute"),
            ("agreeing", "UINTEGER", "of those, records carrying the surviving value"),
            ("runner_up", "VARCHAR", "the best other value, if any"),
        ],
        section=CUSTOMERS,
    ),
    table(
        "customers_to_reverify",
        "golden customer with a stale address, phone or e-mail",
        "Whom to ask to confirm their contact data: most valuable customers first (records, sources),"
        " then the least fresh.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("given_name", "VARCHAR", "golden given name"),
            ("family_name", "VARCHAR", "golden family name"),
            ("stale_attributes", "VARCHAR[]", "which contact attributes are stale"),
            ("record_count", "UINTEGER", "the customer's records"),
            ("source_count", "BIGINT", "the customer's sources"),
            ("lowest_freshness", "DOUBLE", "the lowest freshness among the stale attributes"),
            ("<contact>_is_stale", "BOOLEAN", "as in golden_customers"),
            ("<contact>_stale_reason", "VARCHAR", "as in golden_customers"),
            ("<contact>_freshness", "DOUBLE", "as in golden_customers"),
            ("<contact>_last_confirmed", "TIMESTAMP", "as in golden_customers"),
        ],
        section=CUSTOMERS,
        view=True,
    ),
    table(
        "match_pairs",
        "candidate pair of records",
        "Every pair a blocking rule proposed, scored by the Fellegi-Sunter model, with each comparison's"
        " level and weight (the explanation of the score: the weights add up to match_weight) and what"
        " clustering did with it.",
        [
            ("left_source", "VARCHAR", "source of the first record"),
            ("left_record_id", "VARCHAR", "id of the first record"),
            ("right_source", "VARCHAR", "source of the second record"),
            ("right_record_id", "VARCHAR", "id of the second record"),
            ("left_golden_id", "VARCHAR", "golden customer of the first record"),
            ("right_golden_id", "VARCHAR", "golden customer of the second record"),
            ("blocking_rule", "VARCHAR", "the first blocking rule of rules/match.yaml that proposed the pair"),
            ("match_probability", "DOUBLE", "probability that both records are one person"),
            ("match_weight", "DOUBLE", "log2 Bayes factor: the prior plus every comparison's weight"),
            ("match_class", "VARCHAR", "match, review or non_match by the thresholds (see match_model)"),
            ("outcome", "VARCHAR", "merged, blocked: <reason>, review, non_match..."),
            ("<comparison>_level", "VARCHAR", "the comparison's level for this pair (exact, typo, missing, ...)"),
            ("<comparison>_weight", "DOUBLE", "that level's weight (log2 m/u)"),
            ("prior_weight", "DOUBLE", "the weight of the prior probability of a match"),
        ],
        section=MATCHING,
    ),
    table(
        "review_queue",
        "pair a steward should decide",
        "Likeliest duplicates first, with the reason it was not decided automatically and the evidence.",
        [
            ("review_rank", "BIGINT", "1 = review first"),
            ("left_source", "VARCHAR", "source of the first record"),
            ("left_record_id", "VARCHAR", "id of the first record"),
            ("left_golden_id", "VARCHAR", "its golden customer"),
            ("right_source", "VARCHAR", "source of the second record"),
            ("right_record_id", "VARCHAR", "id of the second record"),
            ("right_golden_id", "VARCHAR", "its golden customer"),
            ("match_probability", "DOUBLE", "the model's probability"),
            ("reason", "VARCHAR", "why a steward is asked (review band, blocked by a conflict)"),
            ("evidence", "VARCHAR", "the comparisons that speak for and against"),
            (
                "changed_since_decision",
                "BOOLEAN",
                "a steward decided this pair, but its records changed materially since: decide again",
            ),
        ],
        section=MATCHING,
    ),
    table(
        "steward_links",
        'steward "same" decision applied in the run',
        "Steward decisions from the durable store and what they did.",
        [
            ("left_source", "VARCHAR", "source of the first record"),
            ("left_record_id", "VARCHAR", "id of the first record"),
            ("right_source", "VARCHAR", "source of the second record"),
            ("right_record_id", "VARCHAR", "id of the second record"),
            (
                "outcome",
                "VARCHAR",
                "merged; blocked: steward: not the same; or not applied: changed since decision (why)",
            ),
        ],
        section=MATCHING,
    ),
    table(
        "match_model",
        "comparison level of the model the run scored with",
        "The Fellegi-Sunter parameters (the model itself is `<master>.model.json` beside the master).",
        [
            ("comparison", "VARCHAR", "comparison name (rules/match.yaml)"),
            ("level", "VARCHAR", "level label"),
            ("m_probability", "DOUBLE", "P(level | same person)"),
            ("u_probability", "DOUBLE", "P(level | different people)"),
            ("match_weight", "DOUBLE", "log2(m / u)"),
            ("trained_at", "VARCHAR", "when the model was trained (ISO time)"),
            ("trained_this_run", "BOOLEAN", "this run trained it (else reused or bundled)"),
            ("threshold_match_probability", "DOUBLE", "merge at or above"),
            ("threshold_review_probability", "DOUBLE", "review at or above (below the merge threshold)"),
            RUN_ID,
        ],
        section=MATCHING,
    ),
    table(
        "blocking_giant_blocks",
        "blocking key value shared by too many records to be evidence",
        "Skipped blocks (max_block_size in rules/match.yaml), so their pairs are known to be missing.",
        [
            ("rule", "VARCHAR", "the blocking rule"),
            ("key", "VARCHAR", "the blocking key's columns"),
            ("value", "VARCHAR", "the shared value"),
            ("size", "BIGINT", "records sharing it"),
            RUN_ID,
        ],
        section=MATCHING,
    ),
    table(
        "source_records",
        "accepted source record",
        "Every accepted record with, per dictionary field, the raw value, the clean value, its matching"
        " key, the flags of what could not be made clean, and the field kind's extra parts.",
        [
            ("source", "VARCHAR", "source system"),
            ("source_record_id", "VARCHAR", "the record's id in its source"),
            ("row_number", "BIGINT", "its row in the source read"),
            ("trust", "BIGINT", "the source's trust rank"),
            ("source_updated_at", "TIMESTAMP", "the record's update time"),
            ("updated_at_flags", "VARCHAR[]", "why the update time could not be read, if so"),
            (
                "<input_field>_raw",
                "VARCHAR",
                "the raw value of an input-only field (e.g. a full name split into parts)",
            ),
            ("<field>_raw", "VARCHAR", "the value as the source had it"),
            ("<field>", FIELD_TYPE, "the clean value (NULL when it could not be made clean, see flags)"),
            ("<field>_key", "VARCHAR", "the value's matching key"),
            ("<field>_flags", "VARCHAR[]", "every reason the value is not clean (empty: clean or blank)"),
            ("<person_name>_honorific", "VARCHAR", "honorific taken off the name (Dr, Mrs, ...)"),
            ("<person_name>_suffix", "VARCHAR", "suffix taken off the name (Jr, III, ...)"),
            ("<person_name>_phonetic", "VARCHAR", "Metaphone of the name's key"),
            ("<person_name>_romanised", "VARCHAR", "Latin-script form of a name in another script"),
            ("<person_name>_pinyin", "VARCHAR", "pinyin of a Chinese name"),
            ("given_name_canonical", "VARCHAR", "the canonical name most people mean by a nickname (bob: robert)"),
            ("given_name_canonicals", "VARCHAR", "every canonical name of a nickname, |-joined"),
            ("email_domain", "VARCHAR", "the e-mail's domain"),
            ("phone_extension", "VARCHAR", "the phone's extension"),
            ("phone_type", "VARCHAR", "mobile, fixed_line, ..."),
            ("phone_is_valid", "BOOLEAN", "true: clean number; false: rejected; NULL: blank"),
            ("<address_line>_number", "VARCHAR", "house number"),
            ("<address_line>_pre_directional", "VARCHAR", "directional before the street (N, SW, ...)"),
            ("<address_line>_street", "VARCHAR", "street name"),
            ("<address_line>_street_type", "VARCHAR", "street suffix, USPS spelling (St, Ave, ...)"),
            ("<address_line>_post_directional", "VARCHAR", "directional after the street"),
            ("<address_line>_unit", "VARCHAR", "unit (Apt 4, Ste 200, ...)"),
            ("<address_line>_po_box", "VARCHAR", "PO box number"),
            ("postal_code_zip4", "VARCHAR", "the US ZIP+4 add-on"),
            ("address_key", "VARCHAR", "the address's matching key (number, street, unit, postcode)"),
            ("golden_id", "VARCHAR", "the golden customer the record belongs to"),
        ],
        section=INPUTS,
    ),
    table(
        "quarantine",
        "rejected input row",
        "Rows not accepted, with the raw row and every reason; rows read = accepted + quarantined.",
        [
            ("source", "VARCHAR", "source system"),
            ("row_number", "BIGINT", "the row in the source read"),
            ("source_record_id", "VARCHAR", "its record id, if it had one"),
            ("raw", "VARCHAR", "the raw row, as JSON text"),
            ("reasons", "VARCHAR[]", "every reason it was rejected"),
            RUN_ID,
        ],
        section=INPUTS,
    ),
    table(
        "field_profile",
        "source and dictionary field",
        "Values present, clean and flagged: what to read before trusting a new source.",
        [
            ("source", "VARCHAR", "source system"),
            ("field", "VARCHAR", "dictionary field"),
            ("records", "UINTEGER", "accepted records of the source"),
            ("present", "BIGINT", "records with a non-blank raw value"),
            ("clean", "BIGINT", "records with a clean value (a source default such as country counts)"),
            ("flagged", "BIGINT", "records whose value carries a flag"),
            RUN_ID,
        ],
        section=INPUTS,
    ),
    table(
        "golden_customers_history",
        "version of a golden customer",
        "Every version of every golden record since the first run (a new version when the values change;"
        " staleness columns are not versioned). `golden_customers_as_of('<run_id>')` reads it as of a run.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("valid_from_run", "VARCHAR", "the run that published this version"),
            ("valid_to_run", "VARCHAR", "the run that replaced or retired it (NULL: current)"),
            ("valid_from", "TIMESTAMP", "publish time of valid_from_run (UTC)"),
            ("valid_to", "TIMESTAMP", "publish time of valid_to_run (UTC; NULL: current)"),
            *GOLDEN_VALUES,
        ],
        section=RUNS,
    ),
    table(
        "published_runs",
        "published run, in order",
        "The runs whose masters were published, with their publish times; the order the as-of macros use.",
        [
            ("run_seq", "BIGINT", "1 = first published run"),
            ("run_id", "VARCHAR", "the run"),
            ("published_at", "TIMESTAMP", "publish time (UTC)"),
        ],
        section=RUNS,
    ),
    table(
        "id_events",
        "golden id event, every run in order",
        "Golden ids created, split off, merged (retired into another id) or retired (records gone).",
        [
            ("run_id", "VARCHAR", "the run of the event"),
            ("kind", "VARCHAR", "created, split, merged or retired"),
            ("old_id", "VARCHAR", "the id retired, merged or split from (NULL for a plain creation)"),
            ("new_id", "VARCHAR", "the id created, or merged into"),
            ("reason", "VARCHAR", "why, in words"),
        ],
        section=RUNS,
    ),
    table(
        "quality_metrics",
        "run, metric, source and field",
        "Data quality of every published run (the trend across runs): completeness and validity per"
        " field and source, duplicate rate, stale share. See mdm/publish/quality.py.",
        [
            ("run_id", "VARCHAR", "the run measured"),
            ("metric", "VARCHAR", "completeness, validity, duplicate_rate or stale_share"),
            ("source", "VARCHAR", "source system; NULL: all sources together"),
            ("field", "VARCHAR", "dictionary field, or contact attribute for stale_share; NULL: not per field"),
            (
                "numerator",
                "BIGINT",
                "completeness: values present; validity: present values clean;"
                " duplicate_rate: records minus their golden customers; stale_share: stale values",
            ),
            (
                "denominator",
                "BIGINT",
                "completeness, duplicate_rate: records; validity: values present;"
                " stale_share: records carrying a valid value (field NULL: records)",
            ),
            ("value", "DOUBLE", "numerator / denominator; NULL when the denominator is 0"),
        ],
        section=RUNS,
    ),
    table(
        "run_log",
        "run, published or failed",
        "Run metadata from the durable store: when, what code, which inputs, the outcome.",
        [
            ("run_id", "VARCHAR", "the run (UTC start time and a random suffix)"),
            ("started_at", "VARCHAR", "start time, ISO UTC"),
            ("finished_at", "VARCHAR", "end time, ISO UTC"),
            ("status", "VARCHAR", "running, published or failed"),
            ("code_version", "VARCHAR", "mdm version + git commit"),
            ("sources_path", "VARCHAR", "the sources.yaml read"),
            ("master_path", "VARCHAR", "the master published"),
            ("as_of", "VARCHAR", "the day dates were evaluated as of"),
            ("counts", "VARCHAR", "JSON: rows read, accepted, quarantined, new golden ids"),
            ("error", "VARCHAR", "why a failed run failed"),
        ],
        section=RUNS,
    ),
    table(
        "run_source_counts",
        "source of the run",
        "Row accounting: rows read = accepted + quarantined.",
        [
            ("source", "VARCHAR", "source system"),
            ("kind", "VARCHAR", "csv, parquet, jsonl, sqlite or postgres"),
            ("rows_read", "BIGINT", "rows read"),
            ("rows_accepted", "BIGINT", "rows accepted (in customer_xref)"),
            ("rows_quarantined", "BIGINT", "rows rejected (in quarantine)"),
            RUN_ID,
        ],
        section=RUNS,
    ),
]

MASTER_MACROS: list[Macro] = [
    Macro(
        "golden_customers_as_of(as_of_run_id)",
        "table macro: golden_customers_history's versions current at that run: the golden customers as"
        " that run published them (staleness columns excepted). `SELECT * FROM golden_customers_as_of('<run_id>')`",
    ),
    Macro(
        "golden_customers_as_of_time(as_of_ts)",
        "table macro: the versions current at a UTC time. `SELECT * FROM golden_customers_as_of_time(TIMESTAMP"
        " '2026-11-01 03:00')`",
    ),
]
