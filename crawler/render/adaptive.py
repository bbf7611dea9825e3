"""--render auto: which pages to render. Learned per section of a site (a host and the first
segment of the path: /docs/..., /app/...), since a site's sections are built one way each, as
Crawlee's adaptive crawler learns per kind of page:

- The first SAMPLE pages of a section are rendered whatever they look like, and each rendering
  is compared with the static page (`gained`: more links, more text, a rules field filled).
- A section whose renderings gained something is rendered from then on, page by page, even
  where the static HTML looks complete (many apps send some text and build the rest).
- Elsewhere a page is rendered when its static HTML shows a sign of being built by its scripts
  (crawler.render.hints) or a rules field found nothing; a section whose renderings never
  gained anything (LEARN_AFTER of them) is rendered only on every PROBE_EVERY-th such sign.
"""

from __future__ import annotations

from dataclasses import dataclass

SAMPLE = 2
LEARN_AFTER = 5
PROBE_EVERY = 10
MIN_MORE_LINKS = 3
MIN_MORE_TEXT = 200


@dataclass(slots=True)
class _Section:
    needed: int = 0  # rendered pages that gained links, text or data
    unneeded: int = 0  # rendered pages that came out as their static HTML
    sampled: int = 0  # pages rendered to learn the section
    skipped: int = 0  # signs passed over since the section was learned static


@dataclass(frozen=True, slots=True)
class PageView:
    """What a parse of a page saw, to compare the static page with the rendered one."""

    links: int
    text: int
    data_fields: int  # rule fields that found something


def gained(static: PageView, rendered: PageView) -> bool:
    """Whether rendering gave the page something its static HTML did not have."""
    return (rendered.links - static.links >= max(MIN_MORE_LINKS, static.links // 2)
            or rendered.text - static.text >= max(MIN_MORE_TEXT, static.text)
            or rendered.data_fields > static.data_fields)


def section_of(url: str) -> str:
    """scheme://host:port/first-segment (the segment only when a path goes deeper)."""
    start = url.find("/", url.find("//") + 2)
    if start < 0:
        return url
    path = url[start + 1:].split("?", 1)[0]
    first, slash, _ = path.partition("/")
    return url[:start + 1] + (first if slash else "")


class RenderPolicy:
    """Per section verdicts of --render auto."""

    def __init__(self) -> None:
        self._sections: dict[str, _Section] = {}

    def wants(self, url: str, sign: str | None) -> bool:
        section = self._sections.setdefault(section_of(url), _Section())
        verdicts = section.needed + section.unneeded
        if verdicts == 0 and section.sampled < SAMPLE:
            section.sampled += 1
            return True
        if section.needed > section.unneeded:
            return True
        if sign is None:
            return False
        if section.needed == 0 and section.unneeded >= LEARN_AFTER:
            section.skipped += 1  # learned static: probe now and then
            return section.skipped % PROBE_EVERY == 0
        return True

    def learn(self, url: str, static: PageView, rendered: PageView) -> bool:
        """Record what rendering one page gave; True when it gained something."""
        section = self._sections.setdefault(section_of(url), _Section())
        if gained(static, rendered):
            section.needed += 1
            return True
        section.unneeded += 1
        return False
