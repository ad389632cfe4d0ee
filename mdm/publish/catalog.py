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
CRM = "Tags and CRM views"

RUN_ID = ("run_id", "VARCHAR", "the run that published this row")

# Columns several CRM views share.
CUSTOMER_NAME = [
    ("golden_id", "VARCHAR", "the golden customer"),
    ("given_name", "VARCHAR", "surviving given name"),
    ("family_name", "VARCHAR", "surviving family name"),
]
POSTAL_ADDRESS = [
    ("address_line1", "VARCHAR", "street line"),
    ("address_line2", "VARCHAR", "unit or care-of line"),
    ("city", "VARCHAR", "city"),
    ("region", "VARCHAR", "state or region"),
    ("postal_code", "VARCHAR", "postal code"),
]
CHANNELS = [
    ("can_email", "BOOLEAN", "the e-mail is valid, not stale and not opted out (as in contactable_email)"),
    ("can_call", "BOOLEAN", "the phone is valid, not stale and not opted out (as in contactable_phone)"),
    ("can_mail", "BOOLEAN", "the address is usable, not stale and not opted out (as in contactable_mail)"),
]

# The value columns of a golden customer: golden_customers has them, and so does every version
# in golden_customers_history.
GOLDEN_VALUES: list[tuple[str, str, str]] = [
    (
        "<field>",
        FIELD_TYPE,
        "the surviving clean value of the field (golden_attribute_lineage says where from); a sensitive field's"
        " as its encrypted token `enc:v1:...` (equal values, equal tokens; `mdm query --reveal` decrypts)",
    ),
    ("<sensitive>_masked", "VARCHAR", "the sensitive field's value masked but for its last 4 characters: `*****6789`"),
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
            (
                "<contact>_last_confirmed",
                "TIMESTAMP",
                "when the surviving value was last confirmed: the newest record carrying it (or a typo of"
                " it), or a confirming contact outcome",
            ),
            (
                "<contact>_freshness",
                "DOUBLE",
                "(1 - monthly_decay) ** months since last confirmed: 1 - the decay prior",
            ),
            (
                "<contact>_stale_probability",
                "DOUBLE",
                "probability that the value is out of date: the decay prior moved by the evidence (superseded,"
                " postcode, household, contact outcomes); NULL: no value, or undated with no evidence",
            ),
            (
                "<contact>_is_stale",
                "BOOLEAN",
                "the probability reaches staleness.threshold_stale_probability (rules/survivorship.yaml)",
            ),
            (
                "<contact>_stale_reason",
                "VARCHAR",
                "how the probability was reached: each piece of evidence and the probability after it",
            ),
            ("contacts_last_year", "BIGINT", "the customer's events (every event source) in the year before --as-of"),
            RUN_ID,
        ],
        section=CUSTOMERS,
    ),
    table(
        "archived_customers",
        "person (golden customer) archived by the archive policy",
        "Golden customers none of whose records was updated and none of whose events happened in the"
        " `archive.inactive_years` before the run's --as-of (rules/survivorship.yaml): out of"
        " golden_customers, every CRM view and customer_tags, with the same columns, their golden id"
        " kept. One comes back by itself on new activity, or after `mdm archive restore`.",
        [
            ("golden_id", "VARCHAR", "stable id of the person; reserved while archived, kept when it comes back"),
            *GOLDEN_VALUES,
            ("<contact>_last_confirmed", "TIMESTAMP", "as in golden_customers"),
            ("<contact>_freshness", "DOUBLE", "as in golden_customers"),
            ("<contact>_stale_probability", "DOUBLE", "as in golden_customers"),
            ("<contact>_is_stale", "BOOLEAN", "as in golden_customers"),
            ("<contact>_stale_reason", "VARCHAR", "as in golden_customers"),
            ("contacts_last_year", "BIGINT", "as in golden_customers"),
            RUN_ID,
            ("archived_run", "VARCHAR", "the run that archived the customer (it stays archived since)"),
            ("archived_on", "DATE", "the --as-of day of that run"),
            ("last_activity_on", "DATE", "the day of the customer's last activity (record update, event or restore)"),
            (
                "last_activity",
                "VARCHAR",
                "what it was: `<source> <record id> updated`, `<event source> event <event id>` or"
                " `restored by <who> at <time>`",
            ),
            ("archive_reason", "VARCHAR", "why, in words, as of this run"),
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
            (
                "<contact>_stale_probability",
                "DOUBLE",
                "probability that the record's value of the attribute is out of date (as in golden_customers,"
                " for the value this record carries; NULL: no valid value)",
            ),
            (
                "<contact>_is_stale",
                "BOOLEAN",
                "the record's value of the attribute is stale: its probability reaches the threshold"
                " (NULL: no valid value)",
            ),
            ("is_stale", "BOOLEAN", "any of the record's contact values is stale"),
            ("stale_reason", "VARCHAR", "for each stale value: its probability and the evidence that moved it"),
            (
                "archived",
                "BOOLEAN",
                "the golden customer is archived: golden_id is in archived_customers, not golden_customers",
            ),
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
            ("value", "VARCHAR", "the surviving value, as text (a sensitive field's: its token)"),
            ("source", "VARCHAR", "source of the record the value came from"),
            ("source_record_id", "VARCHAR", "id of that record"),
            ("rule", "VARCHAR", "the rule that decided (valid, most_trusted, most_recent, most_frequent, ...)"),
            ("source_updated_at", "TIMESTAMP", "that record's update time"),
            ("candidates", "UINTEGER", "records of the customer carrying a value of the attribute"),
            ("agreeing", "UINTEGER", "of those, records carrying the surviving value"),
            ("runner_up", "VARCHAR", "the best other value, if any (a sensitive field's: its token)"),
        ],
        section=CUSTOMERS,
    ),
    table(
        "customers_to_reverify",
        "golden customer with a stale address, phone or e-mail",
        "Whom to ask to confirm their contact data, by the expected value of asking: the highest stale"
        " probability among the flagged attributes times how much the customer is in contact.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("given_name", "VARCHAR", "golden given name"),
            ("family_name", "VARCHAR", "golden family name"),
            ("stale_attributes", "VARCHAR[]", "which contact attributes are stale"),
            ("highest_stale_probability", "DOUBLE", "the highest stale probability among the stale attributes"),
            ("contacts_last_year", "BIGINT", "as in golden_customers"),
            (
                "expected_value",
                "DOUBLE",
                "highest_stale_probability x (1 + contacts_last_year): the order of the view, highest first",
            ),
            ("record_count", "UINTEGER", "the customer's records"),
            ("source_count", "BIGINT", "the customer's sources"),
            ("<contact>_is_stale", "BOOLEAN", "as in golden_customers"),
            ("<contact>_stale_probability", "DOUBLE", "as in golden_customers"),
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
            (
                "outcome",
                "VARCHAR",
                "merged; merged (the same <strong id> outweighs: <conflict>); blocked: <reason>; review; non_match",
            ),
            ("<comparison>_level", "VARCHAR", "the comparison's level for this pair (exact, typo, missing, ...)"),
            ("<comparison>_weight", "DOUBLE", "that level's weight (log2 m/u)"),
            ("prior_weight", "DOUBLE", "the weight of the prior probability of a match"),
        ],
        section=MATCHING,
    ),
    table(
        "review_queue",
        "item a steward should decide: a pair of golden customers",
        "Today's items, the best ranked first, up to `review.daily_capacity` in rules/match.yaml (the rest wait"
        " for later runs; the run summary counts them). An item is a pair of golden customers with at least one"
        " record pair between the review and match thresholds, or one a hard conflict blocked whose evidence"
        " stays strong (its match weight less `review.conflict_bits` reaches the review threshold); every record"
        " pair between the two customers is its evidence (`record_pairs`, `best_probability`, `mean_probability`,"
        " `reasons`). The row names one representative record pair, the strongest: a steward decides the item on"
        " it, and the answer settles the whole item. 'Same' joins the two golden customers (a must-link from the"
        " representative's record to every other record of both); 'not the same' keeps every record of one apart"
        " from every record of the other (a cannot-link per record pair), and no pair between them is queued"
        " again. Ranked by what a decision changes: `priority` = (`left_records` + `right_records`) x closeness,"
        " closeness = 1 / (1 + 2^-(evidence - the match threshold's weight)), where the evidence is the"
        " representative's match weight, less `conflict_bits` when a conflict blocked it, plus the (negative)"
        " evidence of each source both customers already hold and of their record counts (one person of"
        " left + right records against two people of left and right records, as common as this run's golden"
        " customers of those sizes). Decisions whose records changed since come first.",
        [
            ("review_rank", "BIGINT", "1 = review first"),
            ("left_source", "VARCHAR", "source of the representative pair's first record"),
            ("left_record_id", "VARCHAR", "id of that record"),
            ("left_golden_id", "VARCHAR", "its golden customer: one side of the item"),
            ("right_source", "VARCHAR", "source of the representative pair's second record"),
            ("right_record_id", "VARCHAR", "id of that record"),
            ("right_golden_id", "VARCHAR", "its golden customer: the other side of the item"),
            ("match_probability", "DOUBLE", "the model's probability of the representative pair"),
            (
                "reason",
                "VARCHAR",
                "why a steward is asked about the representative pair (review band, blocked by a conflict)",
            ),
            ("evidence", "VARCHAR", "the representative pair's comparison levels"),
            ("record_pairs", "BIGINT", "candidate record pairs between the two golden customers (the item's pairs)"),
            ("best_probability", "DOUBLE", "the highest probability among them"),
            ("mean_probability", "DOUBLE", "their mean probability"),
            (
                "reasons",
                "VARCHAR",
                "what the run did with them, e.g. `2 × blocked: different birth dates; 1 × non_match`",
            ),
            ("left_records", "BIGINT", "records of the left golden customer"),
            ("right_records", "BIGINT", "records of the right golden customer"),
            (
                "shared_sources",
                "VARCHAR[]",
                "sources both golden customers already hold a record of (evidence against)",
            ),
            ("priority", "DOUBLE", "what answering it changes: records of both customers x closeness (the ranking)"),
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
        "The Fellegi-Sunter parameters the run scored with: the model as trained, m moved by the stewards'"
        " labels (match_learning; the model itself is `<master>.model.json` beside the master).",
        [
            ("comparison", "VARCHAR", "comparison name (rules/match.yaml)"),
            ("level", "VARCHAR", "level label"),
            ("m_probability", "DOUBLE", "P(level | same person)"),
            ("u_probability", "DOUBLE", "P(level | different people)"),
            ("match_weight", "DOUBLE", "log2(m / u)"),
            ("trained_at", "VARCHAR", "when the model was trained (ISO time)"),
            ("trained_this_run", "BOOLEAN", "this run trained it (else reused or bundled)"),
            (
                "threshold_match_probability",
                "DOUBLE",
                "merge at or above (the rules', moved by labels: match_learning)",
            ),
            (
                "threshold_review_probability",
                "DOUBLE",
                "review at or above, below the merge threshold (the rules', moved by labels: match_learning)",
            ),
            RUN_ID,
        ],
        section=MATCHING,
    ),
    table(
        "match_learning",
        "model parameter or threshold the stewards' answers moved",
        "Stewards' same / not-same answers are labels (the pair a steward answered, kept in the durable store"
        " with its comparison levels, so a label outlives its records). Each run moves m (each label by its"
        " surprise, y - p, blended with the m as trained) and the two thresholds (the calibration shift of the"
        " labels between them), on top of the model as trained: no labels, no rows and the model as trained."
        " See docs/architecture.md, mdm/match/learn.py.",
        [
            ("parameter", "VARCHAR", "m_probability, threshold_match_probability or threshold_review_probability"),
            ("comparison", "VARCHAR", "the comparison of an m probability (null for a threshold)"),
            ("level", "VARCHAR", "its level (null for a threshold)"),
            ("estimate", "DOUBLE", "without labels: the m as trained, the threshold of rules/match.yaml"),
            ("previous", "DOUBLE", "with the labels earlier runs saw only"),
            ("value", "DOUBLE", "with every label: what this run scored and classified with"),
            ("change", "DOUBLE", "value - estimate: what all labels moved"),
            ("change_this_run", "DOUBLE", "value - previous: what the labels new to this run moved"),
            (
                "labels",
                "BIGINT",
                "labels that informed it (a known level of the comparison; for thresholds those between them)",
            ),
            ("new_labels", "BIGINT", "of which first seen by this run"),
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
            ("<field>_raw", "VARCHAR", "the value as the source had it (a sensitive field's: its token)"),
            (
                "<field>",
                FIELD_TYPE,
                "the clean value (NULL when it could not be made clean, see flags; a sensitive field's: its token)",
            ),
            ("<field>_key", "VARCHAR", "the value's matching key (a sensitive field's: its token)"),
            ("<field>_flags", "VARCHAR[]", "every reason the value is not clean (empty: clean or blank)"),
            ("<person_name>_honorific", "VARCHAR", "honorific taken off the name (Dr, Mrs, ...)"),
            ("<person_name>_suffix", "VARCHAR", "suffix taken off the name (Jr, III, ...)"),
            ("<person_name>_phonetic", "VARCHAR", "Metaphone of the name's key"),
            ("<person_name>_romanised", "VARCHAR", "Latin-script form of a name in another script"),
            ("<person_name>_pinyin", "VARCHAR", "pinyin of a Chinese name"),
            ("given_name_canonical", "VARCHAR", "the canonical name most people mean by a nickname (bob: robert)"),
            ("given_name_canonicals", "VARCHAR", "every canonical name of a nickname, |-joined"),
            ("email_domain", "VARCHAR", "the e-mail's domain"),
            ("email_local", "VARCHAR", "the e-mail key's part before the @ (blocking across domains)"),
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
            (
                "raw",
                "VARCHAR",
                "the raw row, as JSON text; a sensitive field's column holds its token (a row that could not be"
                " split into columns, of a source mapping a sensitive field: one token)",
            ),
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
        " staleness columns and contacts_last_year are not versioned). `golden_customers_as_of('<run_id>')`"
        " reads it as of a run.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("valid_from_run", "VARCHAR", "the run that published this version"),
            ("valid_to_run", "VARCHAR", "the run that replaced, retired or archived it (NULL: current)"),
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
            (
                "kind",
                "VARCHAR",
                "created, split, merged or retired (created with old_id = new_id: a retired customer"
                " whose records came back, active again with its id)",
            ),
            ("old_id", "VARCHAR", "the id retired, merged or split from (NULL for a plain creation)"),
            ("new_id", "VARCHAR", "the id created, or merged into"),
            ("reason", "VARCHAR", "why, in words"),
        ],
        section=RUNS,
    ),
    table(
        "archive_events",
        "golden customer archived or brought back, every run in order",
        "What the archive policy did, run by run: customers archived (inactive for"
        " `archive.inactive_years`) and brought back (new activity, a restore, the policy changed,"
        " their id merged or retired). Restores themselves are in the durable store's audit log.",
        [
            ("run_id", "VARCHAR", "the run of the event"),
            ("as_of", "DATE", "that run's --as-of day"),
            ("golden_id", "VARCHAR", "the golden customer"),
            ("kind", "VARCHAR", "archived or unarchived"),
            ("last_activity_on", "DATE", "the customer's last activity as of that run (NULL: none dated)"),
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
            (
                "counts",
                "VARCHAR",
                "JSON: rows read, accepted, quarantined, deleted (delta extracts), new golden ids, customers"
                " archived and brought back",
            ),
            ("error", "VARCHAR", "why a failed run failed"),
        ],
        section=RUNS,
    ),
    table(
        "run_source_counts",
        "source of the run",
        "Row accounting: rows read = accepted + deleted + quarantined; a delta extract's records are the"
        " last run's with its accepted rows and deletions applied.",
        [
            ("source", "VARCHAR", "source system"),
            ("kind", "VARCHAR", "csv, parquet, jsonl, sqlite or postgres"),
            ("rows_read", "BIGINT", "rows read"),
            ("rows_accepted", "BIGINT", "rows accepted as records (a delta extract: records added or changed)"),
            ("rows_quarantined", "BIGINT", "rows rejected (in quarantine)"),
            ("rows_deleted", "BIGINT", "a delta extract's rows marked deleted that removed a record (else 0)"),
            ("records", "BIGINT", "the source's records after the run (in customer_xref)"),
            ("extract", "VARCHAR", "full (the whole source every run) or delta (changes and deletions only)"),
            ("role", "VARCHAR", "person (matched into golden customers) or events (visits, purchases, answers)"),
            RUN_ID,
        ],
        section=RUNS,
    ),
    table(
        "events_<name>",
        "accepted row of the event source <name> (sources.yaml `events:`)",
        "Visits, purchases, survey answers...: not matched, joined to a golden customer through the person"
        " record they name. After the columns below come the columns the source declares.",
        [
            ("source", "VARCHAR", "the event source"),
            ("row_number", "BIGINT", "row in the source file (1 = first data row)"),
            ("event_id", "VARCHAR", "the event's id in its source"),
            ("golden_id", "VARCHAR", "the golden customer of the person record"),
            ("person_source", "VARCHAR", "the person source the event names"),
            ("person_record_id", "VARCHAR", "the person record it names"),
            ("event_time", FIELD_TYPE, "when it happened (DATE or TIMESTAMP, as the source declares)"),
        ],
        section=CRM,
    ),
    table(
        "customer_tags",
        "customer and tag (computed this run, or stored manual / survey tag)",
        "Tags of rules/tags.yaml evaluated as of the run's --as-of, plus the durable store's manual and survey"
        " tags (inherited by the surviving id on a merge).",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("tag", "VARCHAR", "tag name (tag_definitions)"),
            ("value", "VARCHAR", "the tag's value where it carries one (age band, postpartum month, distance...)"),
            ("category", "VARCHAR", "static, behaviour or state"),
            ("origin", "VARCHAR", "system, manual or survey"),
            ("valid_from", "DATE", "first day the tag holds (state tags), else NULL"),
            ("valid_to", "DATE", "last day the tag holds (state tags), else NULL"),
            ("evidence", "VARCHAR", "why: the events or values behind it, or who set it and when"),
        ],
        section=CRM,
    ),
    table(
        "tag_definitions",
        "tag of tags.yaml in this run",
        "Each tag definition, its SQL and what evaluating it gave.",
        [
            ("tag", "VARCHAR", "tag name"),
            ("description", "VARCHAR", "what the tag means"),
            ("category", "VARCHAR", "static, behaviour or state"),
            ("origin", "VARCHAR", "system, manual or survey"),
            ("definition", "VARCHAR", "the definition as written (where: or query:)"),
            ("sql", "VARCHAR", "the SQL evaluated"),
            ("events", "VARCHAR[]", "event sources the tag reads"),
            ("status", "VARCHAR", "computed, error, skipped (an event source it needs is not declared) or stored"),
            ("seconds", "DOUBLE", "time to evaluate"),
            ("customers", "BIGINT", "customers holding the tag"),
            ("line", "BIGINT", "line of the definition in tags.yaml"),
            RUN_ID,
        ],
        section=CRM,
    ),
    table(
        "tag_errors",
        "broken tag definition",
        "A tag that could not be loaded or evaluated; every other tag is still computed.",
        [
            ("tag", "VARCHAR", "tag name (NULL when the name itself could not be read)"),
            ("file", "VARCHAR", "the tags file"),
            ("line", "BIGINT", "line of the problem"),
            ("problem", "VARCHAR", "what is wrong (the validation or DuckDB message)"),
            ("fix", "VARCHAR", "how to fix it"),
            RUN_ID,
        ],
        section=CRM,
    ),
    table(
        "tag_reviews",
        "stored tag to check after a merge or split",
        "A manual or survey tag whose customer merged (conflicting values) or split: a steward should confirm it.",
        [
            ("golden_id", "VARCHAR", "the customer holding the tag now"),
            ("tag", "VARCHAR", "tag name"),
            ("value", "VARCHAR", "its value"),
            ("other_golden_id", "VARCHAR", "the other customer of the merge or split"),
            ("reason", "VARCHAR", "why it needs a look"),
            ("set_by", "VARCHAR", "who set the tag"),
            ("set_at", "VARCHAR", "when (UTC, ISO 8601)"),
            RUN_ID,
        ],
        section=CRM,
    ),
    table(
        "customer_360",
        "golden customer",
        "Customer 360: the golden record, whether each channel may be used, stale flags, its source records and"
        " its tags.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("given_name", "VARCHAR", "surviving given name"),
            ("middle_name", "VARCHAR", "surviving middle name"),
            ("family_name", "VARCHAR", "surviving family name"),
            ("birth_date", "DATE", "surviving birth date"),
            ("gender", "VARCHAR", "surviving gender code"),
            ("member_since", "DATE", "membership start"),
            ("email", "VARCHAR", "surviving e-mail"),
            ("phone", "VARCHAR", "surviving phone (E.164)"),
            *POSTAL_ADDRESS,
            ("country", "VARCHAR", "ISO country code"),
            *CHANNELS,
            ("email_opt_out", "VARCHAR", "Y when any source says the customer opted out of e-mail"),
            ("phone_opt_out", "VARCHAR", "Y when any source says the customer opted out of calls"),
            ("mail_opt_out", "VARCHAR", "Y when any source says the customer opted out of mail"),
            ("address_is_stale", "BOOLEAN", "the address is probably out of date"),
            ("phone_is_stale", "BOOLEAN", "the phone is probably out of date"),
            ("email_is_stale", "BOOLEAN", "the e-mail is probably out of date"),
            ("has_stale_contact", "BOOLEAN", "any of the three is stale"),
            ("record_count", "UINTEGER", "source records of the customer"),
            ("sources", "VARCHAR[]", "sources holding the customer"),
            (
                "records",
                'STRUCT("source" VARCHAR, record_id VARCHAR, updated_at TIMESTAMP, is_stale BOOLEAN,'
                " stale_reason VARCHAR)[]",
                "the customer's source records with their staleness",
            ),
            ("tag_names", "VARCHAR[]", "names of the customer's tags"),
            (
                "tags",
                'STRUCT(tag VARCHAR, "value" VARCHAR, category VARCHAR, origin VARCHAR, valid_from DATE,'
                " valid_to DATE)[]",
                "the customer's tags (customer_tags)",
            ),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "contactable_email",
        "customer who may be e-mailed",
        "Valid e-mail, not stale, not opted out.",
        [
            *CUSTOMER_NAME,
            ("email", "VARCHAR", "the e-mail to use"),
            ("email_last_confirmed", "TIMESTAMP", "newest record carrying it"),
            ("email_freshness", "DOUBLE", "freshness as of the run"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "contactable_phone",
        "customer who may be called",
        "Valid phone, not stale, not opted out.",
        [
            *CUSTOMER_NAME,
            ("phone", "VARCHAR", "the phone to call (E.164)"),
            ("phone_type", "VARCHAR", "mobile, fixed_line, ..."),
            ("phone_extension", "VARCHAR", "extension, if any"),
            ("phone_last_confirmed", "TIMESTAMP", "newest record carrying it"),
            ("phone_freshness", "DOUBLE", "freshness as of the run"),
            ("address_key", "VARCHAR", "the customer's address key (households share it)"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "contactable_mail",
        "customer who may be sent mail",
        "Usable address (it has a match key), not stale, not opted out.",
        [
            *CUSTOMER_NAME,
            ("birth_date", "DATE", "surviving birth date"),
            *POSTAL_ADDRESS,
            ("postal_code_zip4", "VARCHAR", "US ZIP+4 add-on"),
            ("country", "VARCHAR", "ISO country code"),
            ("address_key", "VARCHAR", "the address's match key"),
            ("address_last_confirmed", "TIMESTAMP", "newest record carrying it"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "mailing_list",
        "letter to one customer",
        "Mailing campaign list, one row per contactable customer.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("addressee", "VARCHAR", "name to print"),
            *POSTAL_ADDRESS,
            ("postal_code_zip4", "VARCHAR", "US ZIP+4 add-on"),
            ("country", "VARCHAR", "ISO country code"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "mailing_list_households",
        "letter to one household",
        "Mailing campaign list, one row per address (household).",
        [
            ("address_key", "VARCHAR", "the household's address"),
            ("addressee", "VARCHAR", "name to print (the household's members)"),
            ("members", "BIGINT", "contactable customers living there"),
            ("member_names", "VARCHAR[]", "their names"),
            ("golden_ids", "VARCHAR[]", "their golden ids"),
            *POSTAL_ADDRESS,
            ("country", "VARCHAR", "ISO country code"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "calling_list",
        "call to one customer",
        "Calling campaign list, one row per contactable customer.",
        [
            ("golden_id", "VARCHAR", "the golden customer"),
            ("name", "VARCHAR", "who to ask for"),
            ("phone", "VARCHAR", "number to call (E.164)"),
            ("phone_type", "VARCHAR", "mobile, fixed_line, ..."),
            ("phone_extension", "VARCHAR", "extension, if any"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "calling_list_households",
        "call to one household",
        "Calling campaign list, one row per household (the landline when a member has one).",
        [
            ("household", "VARCHAR", "the household's address key"),
            ("phone", "VARCHAR", "number to call"),
            ("members", "BIGINT", "contactable customers living there"),
            ("member_names", "VARCHAR[]", "their names"),
            ("golden_ids", "VARCHAR[]", "their golden ids"),
        ],
        section=CRM,
        view=True,
    ),
    table(
        "upcoming_birthdays",
        "customer with a birthday in the next 30 days",
        "For care messages; `upcoming_birthdays(days := N)` for another window. 29 February is celebrated on"
        " 28 February in other years.",
        [
            *CUSTOMER_NAME,
            ("birth_date", "DATE", "birth date"),
            ("next_date", "DATE", "the next birthday on or after the run's as-of day"),
            ("days_until", "INTEGER", "days from as-of to it"),
            ("turning", "BIGINT", "age on that day"),
            ("email", "VARCHAR", "surviving e-mail"),
            ("phone", "VARCHAR", "surviving phone"),
            *CHANNELS,
        ],
        section=CRM,
        view=True,
    ),
    table(
        "upcoming_membership_anniversaries",
        "customer with a membership anniversary in the next 30 days",
        "For care messages; `upcoming_membership_anniversaries(days := N)` for another window.",
        [
            *CUSTOMER_NAME,
            ("member_since", "DATE", "membership start"),
            ("next_date", "DATE", "the next anniversary on or after the run's as-of day"),
            ("days_until", "INTEGER", "days from as-of to it"),
            ("years", "BIGINT", "years of membership on that day"),
            ("email", "VARCHAR", "surviving e-mail"),
            ("phone", "VARCHAR", "surviving phone"),
            *CHANNELS,
        ],
        section=CRM,
        view=True,
    ),
    table(
        "pending_reviews",
        "item waiting for a steward",
        "The review queue's pairs and the stored tags to check (tag_reviews), in the order to look at them.",
        [
            ("kind", "VARCHAR", "pair or tag"),
            ("rank", "BIGINT", "1 = look first, within its kind"),
            ("golden_id", "VARCHAR", "the customer concerned"),
            ("other_golden_id", "VARCHAR", "the other customer of the pair, merge or split"),
            ("subject", "VARCHAR", "the records of the pair, or the tag"),
            ("reason", "VARCHAR", "why a steward is asked"),
            ("evidence", "VARCHAR", "the comparisons for and against (pairs)"),
            ("match_probability", "DOUBLE", "the model's probability (pairs)"),
        ],
        section=CRM,
        view=True,
    ),
]

MASTER_MACROS: list[Macro] = [
    Macro(
        "upcoming_birthdays(days := 30)",
        "table macro: customers whose birthday falls in the next `days` days from the run's as-of day;"
        " the columns of the upcoming_birthdays view. `SELECT * FROM upcoming_birthdays(days := 7)`",
    ),
    Macro(
        "upcoming_membership_anniversaries(days := 30)",
        "table macro: membership anniversaries in the next `days` days; the columns of the view of that name",
    ),
    Macro(
        "golden_customers_as_of(as_of_run_id)",
        "table macro: golden_customers_history's versions current at that run: the golden customers as"
        " that run published them (staleness columns and contacts_last_year excepted)."
        " `SELECT * FROM golden_customers_as_of('<run_id>')`",
    ),
    Macro(
        "golden_customers_as_of_time(as_of_ts)",
        "table macro: the versions current at a UTC time. `SELECT * FROM golden_customers_as_of_time(TIMESTAMP"
        " '2026-11-01 03:00')`",
    ),
]
