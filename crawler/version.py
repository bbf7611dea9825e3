"""The crawler's version, for the User-Agent, --version and the WARC software field."""

__version__ = "0.1.0"
