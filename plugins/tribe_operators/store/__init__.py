"""The link database: ID links, watermarks, export ledger, staging, quarantine, run counts."""
