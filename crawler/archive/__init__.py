"""Stage 6, archive: WARC files of what went over the wire (warc.py), an output like the
sinks.

May import the leaves and the other stages; never the engine, the app or a face.
"""
