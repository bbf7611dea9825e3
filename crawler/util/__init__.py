"""Leaves: small helpers every layer may use (atomic file replace, TOML reading, safe text,
batched SQLite statements, the user's request headers, the wire exchange kept for archives,
live counters, outage waits, process limits).

Imports only the standard library, third-party packages and other leaves (crawler.errors,
crawler.settings, crawler.records, crawler.urls), never a stage.
"""
