#!/usr/bin/env bash
# A headless Chromium and its WebDriver on this machine (Debian/Ubuntu packages `chromium`
# and `chromium-driver`): for the test of `trnet serve`'s page (tests/test_serve.py), which
# drives /usr/bin/chromium through /usr/bin/chromedriver with selenium (never selenium's
# own manager: it would download a browser).
#   bash tools/chromium_local.sh       install (apt, as root) if missing; print both paths
# Idempotent: installed packages are left as they are.
# Exit status: 0 both binaries run, 2 they cannot be installed (not root, no apt, apt
# failed), 1 anything else.
set -uo pipefail
me=tools/chromium_local.sh
browser=/usr/bin/chromium
driver=/usr/bin/chromedriver

die() { echo "$me: $1" >&2; exit "${2:-1}"; }
say() { echo "$me: $*" >&2; }

have_all() { [ -x "$browser" ] && [ -x "$driver" ]; }

install_packages() {
  have_all && return 0
  [ "$(id -u)" = 0 ] || die "chromium/chromium-driver are not installed and only root can install them (apt-get install chromium chromium-driver)" 2
  command -v apt-get > /dev/null || die "chromium/chromium-driver are not installed and there is no apt-get to install them" 2
  say "installing chromium chromium-driver (apt-get; a few minutes)"
  export DEBIAN_FRONTEND=noninteractive
  # the package lists may be missing or stale (a fresh image): update once, then retry
  if ! apt-get install -y -q --no-install-recommends chromium chromium-driver > "$tmp/apt.log" 2>&1; then
    apt-get update -q >> "$tmp/apt.log" 2>&1 \
      && apt-get install -y -q --no-install-recommends chromium chromium-driver >> "$tmp/apt.log" 2>&1 \
      || die "apt-get could not install chromium chromium-driver: $(tail -n 1 "$tmp/apt.log")" 2
  fi
  have_all || die "chromium and chromium-driver installed, but $browser or $driver is missing" 2
}

[ $# -eq 0 ] || die "usage: bash $me"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
install_packages
"$driver" --version > /dev/null 2>&1 || die "$driver does not run: $("$driver" --version 2>&1 | tail -n 1)"
"$browser" --headless --no-sandbox --version > /dev/null 2>&1 \
  || die "$browser does not run: $("$browser" --version 2>&1 | tail -n 1)"
echo "$browser"
echo "$driver"
