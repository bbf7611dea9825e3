"""Stage 3b, render: pages that build themselves with JavaScript, rendered in a bounded pool of
headless Chromium tabs. browser.py (the Chromium process: started over a pipe, never a port,
killed with the crawl), cdp.py (the DevTools protocol over that pipe), tab.py (a tab: every
request the page makes goes through the crawler's fetcher and its guard; dialogs, popups and
downloads never stall it; a deadline per page).

May import the leaves and the other stages; never the engine, the app or a face.
"""
