"""Unit: frontier scheduling as plain synchronous code with a fake clock."""

from __future__ import annotations

from crawler.frontier.local import Frontier
from crawler.frontier.request import History, Request
from crawler.frontier.spill import SpillQueue
from crawler.urls import fingerprint


def add(frontier: Frontier, url: str, depth: int = 0) -> bool:
    return frontier.add(url, fingerprint(url), depth)


def test_dedup_depth_and_budget() -> None:
    """A seen URL or one past max_pages is not queued; one past max_depth is pruned, with the
    reason, once."""
    frontier = Frontier(per_host=1, max_pages=3, max_depth=2)
    assert add(frontier, "http://a.com/1") is True
    assert add(frontier, "http://a.com/1") is False
    assert add(frontier, "http://a.com/deep", depth=3) == "trap: deeper than --max-depth 2"
    assert add(frontier, "http://a.com/deep", depth=3) is False
    assert add(frontier, "http://a.com/2", depth=2) and add(frontier, "http://a.com/3")
    assert not add(frontier, "http://a.com/4")
    assert frontier.stats()["admitted"] == 3 and frontier.pending == 3


def test_per_host_slots_and_pending_count() -> None:
    """A host gets at most per_host requests in flight; done() frees a slot; pending counts both."""
    frontier = Frontier(per_host=2)
    for i in range(4):
        add(frontier, f"http://a.com/{i}")
    first, second = frontier.next_ready(0), frontier.next_ready(0)
    assert first is not None and second is not None
    assert frontier.next_ready(0) is None
    assert (frontier.queued, frontier.in_flight, frontier.pending) == (2, 2, 4)
    frontier.done(first)
    assert frontier.next_ready(0) is not None
    assert frontier.pending == 3


def test_delay_between_starts_on_one_host() -> None:
    """With delay D, a host's next request is ready D seconds after the previous start."""
    frontier = Frontier(per_host=5, delay=2.0)
    add(frontier, "http://a.com/1")
    add(frontier, "http://a.com/2")
    assert frontier.next_ready(10.0) is not None
    assert frontier.next_ready(11.0) is None
    assert frontier.wake_in(11.0) == 1.0
    assert frontier.next_ready(12.0) is not None


def test_hosts_are_served_fairly() -> None:
    """Requests alternate between hosts rather than draining one host first."""
    frontier = Frontier(per_host=10)
    for i in range(3):
        add(frontier, f"http://a.com/{i}")
        add(frontier, f"http://b.com/{i}")
    order = []
    while (request := frontier.next_ready(0)) is not None:
        order.append(request.url.split("/")[2])
    assert order == ["a.com", "b.com"] * 3


def test_waiting_host_does_not_block_others() -> None:
    """A host waiting out its delay leaves other hosts' requests ready."""
    frontier = Frontier(per_host=1, delay=60.0)
    add(frontier, "http://slow.com/1")
    add(frontier, "http://slow.com/2")
    add(frontier, "http://b.com/1")
    got = [frontier.next_ready(0), frontier.next_ready(0)]
    assert {r.url for r in got if r} == {"http://slow.com/1", "http://b.com/1"}
    for request in got:
        assert request is not None
        frontier.done(request)
    assert frontier.next_ready(1.0) is None


async def test_get_returns_none_when_nothing_is_pending() -> None:
    """get() hands out queued requests, then returns None once all are done."""
    frontier = Frontier(per_host=1)
    add(frontier, "http://a.com/")
    request = await frontier.get()
    assert request is not None
    frontier.done(request)
    assert await frontier.get() is None


async def test_close_stops_handing_out_but_keeps_queueing() -> None:
    """After close() get() returns None even with URLs queued; add() still queues (links of
    pages finishing in the shutdown grace period are kept for the next run)."""
    frontier = Frontier(per_host=1)
    add(frontier, "http://a.com/")
    frontier.close()
    assert await frontier.get() is None
    assert add(frontier, "http://a.com/new") and frontier.queued == 2


def test_unknown_host_gets_one_slot_until_its_rules_are_known() -> None:
    """Before set_host_rules a host has one slot; after it, per_host slots and its Crawl-delay."""
    frontier = Frontier(per_host=3, hosts_known=False)
    for i in range(4):
        add(frontier, f"http://a.com/{i}")
    assert frontier.next_ready(0) is not None
    assert frontier.next_ready(0) is None
    frontier.set_host_rules("http://a.com/", crawl_delay=5.0)
    assert frontier.next_ready(1.0) is None  # the crawl delay runs from the first start
    assert frontier.next_ready(5.0) is not None
    assert frontier.wake_in(5.0) == 5.0


def test_requeue_keeps_the_request_pending_and_pauses_the_host() -> None:
    """A requeued request goes back to the head of its host's queue; the host waits."""
    frontier = Frontier(per_host=2)
    add(frontier, "http://a.com/1")
    add(frontier, "http://a.com/2")
    first = frontier.next_ready(0)
    assert first is not None
    frontier.requeue(first, not_before=10.0)
    assert frontier.pending == 2 and frontier.in_flight == 0
    assert frontier.next_ready(9.9) is None
    again = frontier.next_ready(10.0)
    assert again is first


def test_pause_host_leaves_other_hosts_alone() -> None:
    """Pausing one host does not delay another."""
    frontier = Frontier(per_host=1)
    add(frontier, "http://a.com/1")
    add(frontier, "http://b.com/1")
    frontier.pause_host("http://a.com/x", 30.0)
    request = frontier.next_ready(0)
    assert request is not None and request.url == "http://b.com/1"
    assert frontier.next_ready(0) is None
    assert frontier.next_ready(30.0) is not None


def test_start_delay_applies_to_new_hosts_only_above_the_floor() -> None:
    """A start delay (autothrottle) spaces a new host's first requests; set_host_delay can lower
    it, but not below the user's delay."""
    frontier = Frontier(per_host=5, delay=0.5, start_delay=2.0)
    for i in range(3):
        add(frontier, f"http://a.com/{i}")
    assert frontier.next_ready(0) is not None
    assert frontier.next_ready(1.0) is None and frontier.next_ready(2.0) is not None
    frontier.set_host_delay("http://a.com/", 0.1)
    assert frontier.host_delay("http://a.com/") == 0.5


def test_per_host_budget_and_query_variants_prune() -> None:
    """Past --max-pages-per-host a host's URLs are pruned; past --max-query-variants one path's
    further queries are pruned; other hosts and paths are not affected."""
    budget = Frontier(per_host=1, max_pages_per_host=2)
    assert add(budget, "http://a.com/1") is True and add(budget, "http://a.com/2") is True
    assert add(budget, "http://a.com/3") == "trap: host already has --max-pages-per-host 2 URLs"
    assert add(budget, "http://b.com/1") is True
    variants = Frontier(per_host=1, max_query_variants=3)
    for day in range(1, 4):
        assert add(variants, f"http://c.com/cal?day={day}") is True
    assert add(variants, "http://c.com/cal?day=9") == (
        "trap: path already has --max-query-variants 3 queries")
    assert add(variants, "http://c.com/other?day=9") is True


def test_pruned_elsewhere_counts_once() -> None:
    """prune() marks a URL seen: True the first time, False after, and add() skips it."""
    frontier = Frontier(per_host=1)
    fp = fingerprint("http://a.com/trap")
    assert frontier.prune(fp) is True and frontier.prune(fp) is False
    assert add(frontier, "http://a.com/trap") is False


def test_spill_keeps_memory_bounded_and_order_fifo(tmp_path) -> None:
    """Beyond the memory window, requests wait on disk; all come back, in the order added, and
    the pending count includes them."""
    spill = SpillQueue(tmp_path / "spill.db")
    frontier = Frontier(per_host=1000, memory_window=10, spill=spill)
    urls = [f"http://h{i % 7}.com/{i}" for i in range(5000)]
    for url in urls:
        assert add(frontier, url) is True
    assert frontier.in_memory == 10 and frontier.pending == 5000 and len(spill) == 4990
    out = []
    while (request := frontier.next_ready(0)) is not None:
        out.append(request.url)
        frontier.done(request)
        assert frontier.in_memory <= 10
    assert sorted(out) == sorted(urls) and frontier.pending == 0
    assert out[:10] == urls[:10]
    spill.close()


def test_restored_and_remembered_urls_count_against_budgets_and_dedup(tmp_path) -> None:
    """A resumed job's pending requests come back with their fingerprint and history (through
    the spill too); its finished URLs are seen and use up page budgets; only add() journals."""
    journaled = []
    spill = SpillQueue(tmp_path / "spill.db")
    frontier = Frontier(per_host=5, max_pages=4, memory_window=1, spill=spill,
                        on_queue=journaled.append)
    history = History(True, '"e"', None, "h")
    frontier.remember("http://a.com/done", fingerprint("http://a.com/done"))
    for path in ("/1", "/2"):
        url = "http://a.com" + path
        frontier.restore(Request(url, 1, None, 0, fingerprint(url), history))
    assert add(frontier, "http://a.com/done") is False and add(frontier, "http://a.com/1") is False
    assert add(frontier, "http://a.com/new") is True
    assert add(frontier, "http://a.com/over") is False  # 4 admitted: done, /1, /2, /new
    assert [r.url for r in journaled] == ["http://a.com/new"]
    out = []
    while (request := frontier.next_ready(0)) is not None:
        out.append(request)
    assert [r.url for r in out] == ["http://a.com/1", "http://a.com/2", "http://a.com/new"]
    assert out[1].history == history and out[1].fp == fingerprint("http://a.com/2")
    assert out[2].history is None
    spill.close()


def test_query_variant_budget_survives_a_resume() -> None:
    """URLs a resumed job already finished or still has queued count towards their path's
    --max-query-variants budget (the counter is keyed by a stable fingerprint, not hash())."""
    frontier = Frontier(per_host=1, max_query_variants=3)
    frontier.remember("http://a.com/cal?m=1", fingerprint("http://a.com/cal?m=1"))
    frontier.remember("http://a.com/cal?m=2", fingerprint("http://a.com/cal?m=2"))
    frontier.restore(Request("http://a.com/cal?m=3", 1, None, 0,
                             fingerprint("http://a.com/cal?m=3")))
    assert add(frontier, "http://a.com/cal?m=4") == (
        "trap: path already has --max-query-variants 3 queries")
    assert add(frontier, "http://a.com/other?m=1") is True


def test_urls_held_past_max_pages_are_capped(monkeypatch) -> None:
    """Past --max-pages, URLs are held for a later, larger run, but at most MAX_HELD of them
    (a sitemap of millions would otherwise fill the job's database)."""
    import crawler.frontier.local as frontier_module

    monkeypatch.setattr(frontier_module, "MAX_HELD", 50)
    held: list[str] = []
    frontier = frontier_module.Frontier(per_host=2, max_pages=1)
    frontier.on_hold = lambda request: held.append(request.url)
    for n in range(500):
        url = f"http://a.example/{n}"
        frontier.add(url, fingerprint(url), 1)
    assert frontier.admitted == 1 and len(held) == 50 and frontier.full


def test_a_backtracking_deny_pattern_costs_a_bounded_time_and_denies(caplog) -> None:
    """--deny '(a+)+b' on a URL of 5,000 a's is cut off by the pattern's time bound (a
    warning says so; unbounded, it backtracks for ever on the event loop) and the URL is not
    fetched; an allow pattern that runs out of time does not let it in either."""
    from crawler.frontier.scope import Scope

    url = "http://a.example/" + "a" * 5000 + "c"
    deny = Scope.for_seeds("any", ["http://a.example/"], deny=("(a+)+b",))
    allow = Scope.for_seeds("any", ["http://a.example/"], allow=("(a+)+b",))
    assert not deny.allows(url) and not allow.allows(url)
    assert caplog.text.count("took over 0.05s") == 2
    assert deny.allows("http://a.example/fine") and not allow.allows("http://a.example/fine")
