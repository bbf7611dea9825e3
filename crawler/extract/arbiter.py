"""Which of the two methods' content to keep on a page that is not an article, decided by a
third, independent extractor.

The careful method (trafilatura's text, widened to its container where that holds much more)
and the fast method's region (crawler.extract.fast_content) are each better on some pages
than the other: trafilatura's pruning on most, the region's own text where trafilatura cuts a
forum's posts or a collection's cards. resiliparse's main-content text comes from another
algorithm on another parser (lexbor, in C++), and where the two disagree, the one whose words
agree more with it is kept (word-bag F1, the words as WCXB's scorer counts them; a tie keeps
the careful one). Articles, by og:type or JSON-LD, keep the careful content: there
trafilatura is right more often than any vote (Zyte's article benchmark).

Measured on the 1,497 WCXB dev pages (bench/content.py; nothing here is a tuned threshold):
F1 0.841 -> 0.846 (paired bootstrap 95% interval +0.002..+0.009; 114 pages better by more
than 0.01, 93 worse), forums 0.69 -> 0.73, Zyte's articles unchanged; about 6 ms more CPU on
the pages that are not articles. A page of many tags nested deep (a hostile page's way to
make the judge slow) is not judged.
"""

from __future__ import annotations

import re
from collections import Counter

from resiliparse.extract.html2text import extract_plain_text

from crawler.parse.nesting import depth_bound

WORD = re.compile(r"\w+")
# resiliparse's main-content pass costs about elements times depth (20,000 nested divs: 8 s),
# so a page of many tags that nests deeper than JUDGED_DEPTH is not judged: careful stands
MANY_TAGS = 16_000
JUDGED_DEPTH = 128


def region_agrees_better(html: str, careful_words: str, region_words: str) -> bool:
    """Whether the region's text agrees better than the careful text with resiliparse's main
    content of the page `html` (ask cheap_to_judge first)."""
    region = _bag(region_words)
    if not region:
        return False
    judge = _bag(extract_plain_text(html, main_content=True))
    return agreement(region, judge) > agreement(_bag(careful_words), judge)


def agreement(one: Counter[str], other: Counter[str]) -> float:
    """Word-bag F1 of two texts' words (0 when either has none)."""
    shared = sum((one & other).values())
    if not shared:
        return 0.0
    return 2 * shared / (sum(one.values()) + sum(other.values()))


def cheap_to_judge(html: str) -> bool:
    """Whether the page has few tags or nests at most JUDGED_DEPTH deep (an upper bound)."""
    return html.count("<") <= MANY_TAGS or \
        depth_bound(html.encode("utf-8", "replace"), JUDGED_DEPTH) <= JUDGED_DEPTH


def _bag(text: str) -> Counter[str]:
    return Counter(WORD.findall(text.lower()))
