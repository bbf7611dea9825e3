"""Watching a running crawl, from the app layer: live.py (a snapshot of its numbers and
--status-file), monitor.py (what the settings ask to watch it with), progress.py (the live
line or log line), metrics.py (Prometheus).

May import the engine, the stages and the leaves; never a face.
"""
