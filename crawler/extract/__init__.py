"""Stage 4, extract: data and page content from a parsed page, by rules (rules.py, apply.py),
by Python code (page.py: `Page`, the extractor's view) or by trafilatura (content.py);
setup.py reads the settings into one Extraction. Runs in the parse workers.

May import the leaves and the other stages; never the engine, the app or a face.
"""
