"""Scale-out: a frontier in Redis shared by many workers. Stages: redis_frontier.py (the
frontier interface over Redis), scripts.py (its Lua scripts), batcher.py, job.py (a cluster job's
settings in Redis). App layer: worker.py (one worker's crawl), status.py (a cluster job's
numbers). The `seed` and `worker` command lines are crawler.cli.cluster.
"""
