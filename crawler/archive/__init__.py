"""Archive outputs: WARC files of what went over the wire."""
