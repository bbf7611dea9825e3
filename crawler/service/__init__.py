"""The crawl service: an HTTP API, metrics and a dashboard over jobs run as child processes
(`python -m crawler serve`)."""
