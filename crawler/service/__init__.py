"""The crawl service, a face: an HTTP API, metrics and a dashboard over jobs run as child
processes (`python -m crawler serve`). server.py (the aiohttp app and its start), api.py (the
routes), origin.py (who may call it), spec.py (a job's request, checked), jobs.py (jobs on
disk), supervisor.py (which jobs run), child.py (a job's crawl process), results.py, openapi.py.

May import anything below it: the app, the engine, the stages and the leaves.
"""
