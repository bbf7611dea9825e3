"""Stage 3, parse: an HTML page into title, links and directives, off the event loop.
page.py (the parse itself), pool.py (the process pool: admission, deadlines, crash isolation),
worker.py (what runs in a worker), pool_start.py and forkserver_guard.py (where workers come
from), orphans.py (workers die with the crawl), nesting.py (the nesting guard), resolve.py (links
against the page's base), simhash.py (near-duplicates), sitemaps.py, heap.py.

Parse workers import this package's page.py and what it needs only, so it stays light. May
import the leaves and the other stages; never the engine, the app or a face.
"""
