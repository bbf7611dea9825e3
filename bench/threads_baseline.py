"""The thread-per-request baseline: requests + a ThreadPoolExecutor of N threads fetching a
list of URLs (given, not discovered: an advantage the crawler does not get). Each request opens
and closes its own connection, as thread-per-request code usually does."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import requests


def fetch(url: str) -> int:
    with requests.get(url, timeout=60, headers={"Connection": "close"}) as response:
        return response.status_code


def main() -> None:
    threads = int(sys.argv[1])
    with open(sys.argv[2]) as listing:
        urls = [line.strip() for line in listing if line.strip()]
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(fetch, urls))
    print(sum(1 for s in statuses if s == 200))


if __name__ == "__main__":
    main()
