"""Stage 5, jobs: what a job directory holds across runs. state.py (the durable job state in
crawl.db), lock.py (one crawl per job directory), changes.py (conditional requests, content
hashes, change labels), rerun.py (what a finished job does when run again), report.py (the run
report), cron.py (cron expressions for schedules).

May import the leaves and the other stages; never the engine, the app or a face.
"""
