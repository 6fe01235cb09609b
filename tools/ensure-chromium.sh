#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser test (test/browser/). Prints the path of the
# executable on stdout and exits 0; otherwise prints the reason on stderr and exits non-zero, so
# the test can skip with that reason instead of passing silently.
# It installs only when the browser is missing and we run as root on a Debian-like system (apt-get).
set -uo pipefail
CHROMIUM=${COTERIE_CHROMIUM:-/usr/bin/chromium}
if [[ -x "$CHROMIUM" ]]; then
  echo "$CHROMIUM"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (run: sudo apt-get install -y chromium)" >&2
  exit 3
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and this system has no apt-get to install Debian's chromium" >&2
  exit 4
fi
log=$(mktemp)
if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >"$log" 2>&1 ||
  { apt-get update >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >>"$log" 2>&1; }; }; then
  echo "ensure-chromium: apt-get install chromium failed; last lines:" >&2
  tail -n 5 "$log" >&2
  rm -f "$log"
  exit 5
fi
rm -f "$log"
if [[ -x "$CHROMIUM" ]]; then
  echo "$CHROMIUM"
  exit 0
fi
echo "ensure-chromium: apt-get succeeded but $CHROMIUM is still missing" >&2
exit 6
