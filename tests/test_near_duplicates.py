"""Near-duplicates: every HTML page's record carries the simhash of its text; with
--skip-near-duplicates N, a page within N bits of one seen before is recorded, says which, and
its links are not followed."""

from __future__ import annotations

from crawler.parse.simhash import NearDuplicates, simhash
from tests.conftest import by_url
from tests.site import Site

ARTICLE = "".join(f"<p>paragraph {i} of a long article about crawling the web</p>"
                  for i in range(60))


async def test_near_copies_are_flagged_and_their_links_not_followed(site: Site, crawl) -> None:
    site.page("/", "/article", "/other", title="Home")
    site.page("/article", "/article/print", "/next", title="Article", extra=ARTICLE)
    site.page("/article/print", "/print-only", title="Article", extra=ARTICLE + "<p>printed</p>")
    site.page("/next", title="Next", extra="<p>something else entirely</p>")
    site.page("/other", title="Other", extra="".join(f"<p>unrelated text {i}</p>"
                                                    for i in range(60)))
    site.page("/print-only", title="Reached only through the print view")
    records = by_url(await crawl([site.url("/")], skip_near_duplicates=6, concurrency=1,
                                 per_host=1))
    printed = records[site.url("/article/print")]
    assert printed["near_duplicate_of"] == site.url("/article")
    assert "/print-only" not in site.hits and site.url("/print-only") not in records
    assert records[site.url("/next")]["status"] == 200  # the original's links are followed
    assert records[site.url("/other")]["near_duplicate_of"] is None
    article, other = (int(records[site.url(p)]["simhash"], 16) for p in ("/article", "/other"))
    assert (article ^ int(printed["simhash"], 16)).bit_count() <= 6
    assert (article ^ other).bit_count() > 6
    plain = by_url(await crawl([site.url("/")]))  # off by default: everything followed
    assert site.url("/print-only") in plain
    assert plain[site.url("/article")]["simhash"] is None  # and no simhash unless asked
    hashed = by_url(await crawl([site.url("/")], simhash="true"))
    assert hashed[site.url("/article")]["simhash"] == records[site.url("/article")]["simhash"]
    assert hashed[site.url("/article/print")]["near_duplicate_of"] is None


def test_index_finds_every_hash_within_the_distance() -> None:
    """The block index misses nothing within N bits and reports nothing farther."""
    import random

    rng = random.Random(7)
    for distance in (1, 3, 6, 10):
        index = NearDuplicates(distance)
        seen = [rng.getrandbits(64) for _ in range(300)]
        for n, value in enumerate(seen):
            index.add(value, f"u{n}")
        for value in seen[:50]:
            near = value ^ sum(1 << b for b in rng.sample(range(64), distance))
            found = index.match(near)
            assert found is not None
            assert (int(seen[int(found[1:])]) ^ near).bit_count() <= distance
        far = [rng.getrandbits(64) for _ in range(50)]
        for value in far:
            match = index.match(value)
            assert match is None or (seen[int(match[1:])] ^ value).bit_count() <= distance
    assert simhash("") is None and simhash("   \n  ") is None
