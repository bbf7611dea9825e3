"""Stage 2, frontier: which URL is fetched next, and which never. local.py (the job's
Frontier: dedup, depth and page budgets, per-host queues and delays), api.py (what the engine
asks of any frontier, also the Redis one in crawler.cluster), request.py (a URL handed out),
seen.py (the seen-set), spill.py (the queue past memory, in SQLite), traps.py (spider traps),
scope.py (which URLs a crawl may fetch), seeds.py (the seeds file).

May import the leaves and the other stages; never the engine, the app or a face.
"""
