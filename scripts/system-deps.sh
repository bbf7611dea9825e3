#!/usr/bin/env bash
# The Debian packages the system tests use: nginx (a real static server), wget2 (the reference
# crawler), python3.11-doc and postgresql-doc-15 (real documentation sites to crawl), redis-server and postgresql
# (the scale-out tests start their own servers from these binaries) and docker-compose (it
# validates docker-compose.yml), chromium (--render drives it; the dashboard is tested in it, headless) and
# podman, runc and debootstrap (the image is built and run with podman, on a stand-in base image
# that debootstrap makes: tests/containers.py), curl (it writes the cookies.txt a signed-in
# crawl test reads), tinyproxy and microsocks (real HTTP and SOCKS5 proxies that the proxy tests
# put between the crawler and a local site, counting what passes through). Installs
# them when we are root; otherwise lists what is missing. STRICT=1 makes a failed install an
# error (CI).
set -uo pipefail
packages=(nginx-light wget2 python3.11-doc postgresql-doc-15 redis-server postgresql docker-compose chromium podman runc debootstrap curl tinyproxy microsocks)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${missing[*]}" >&2
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    exit 0
  fi
fi
echo "setup: not installed: ${missing[*]} (sudo apt-get install ${missing[*]}); the system tests will be skipped" >&2
[ "${STRICT:-0}" = 1 ] && exit 1
exit 0
