"""Stage 6, sinks: where records go. base.py (the protocol every output keeps), open.py (the
factory that picks sinks by suffix or scheme), writer.py (batches records to the sinks and
commits them with the job state, exactly once), jsonl.py, csv.py, sqlite.py, postgres.py,
append.py (append-only files cut back on resume), owner.py (which job an output belongs to).

May import the leaves and the other stages; never the engine, the app or a face.
"""

from crawler.sinks.base import Sink, SinkError
from crawler.sinks.open import open_sinks

__all__ = ["Sink", "SinkError", "open_sinks"]
