"""ingest: read every declared source, map its columns to dictionary fields, quarantine bad rows.

Row accounting holds per source: rows read = rows accepted + rows quarantined.
"""

from mdm.ingest.source import QUARANTINE_SCHEMA, IngestResult, ingest_source

__all__ = ["IngestResult", "QUARANTINE_SCHEMA", "ingest_source"]
