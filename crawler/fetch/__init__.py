"""Stage 1, fetch: get one URL over the crawl's one aiohttp session, politely and safely.
fetcher.py (deadline, byte cap, no redirects), guard.py (the address guard: every address checked
before connecting), decoding.py (Content-Encoding layers and bombs), robots.py (robots.txt per
RFC 9309), politeness.py (retries and backoff), hosthealth.py (hosts that stop answering),
ipslots.py (--per-ip).

May import the leaves and the other stages; never the engine, the app or a face.
"""
