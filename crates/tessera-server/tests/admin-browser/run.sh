#!/usr/bin/env bash
# Runs the admin page's browser tests: Debian's Chromium (/usr/bin/chromium) driven by the pinned
# playwright-core against `tessera serve` built from this checkout. Fails loudly; never skips.
# Screenshots of each step go to $CARGO_TARGET_DIR/browser-screenshots/admin/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

source "$repo/scripts/ensure-chromium.sh"

echo "== installing the pinned playwright-core"
log="$(mktemp)"
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1 \
  || { cat "$log"; rm -f "$log"; echo "FAILED: npm ci" >&2; exit 1; }
rm -f "$log"

echo "== building the tessera server"
(cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)

echo "== admin page browser tests"
report="$(mktemp)"
TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" \
SCREENSHOT_DIR="$CARGO_TARGET_DIR/browser-screenshots/admin" \
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" \
    "$here/admin.test.mjs" || { rm -f "$report"; echo "FAILED: admin page browser tests" >&2; exit 1; }
passed="$(sed -n 's/^# pass //p' "$report")"
skipped="$(sed -n 's/^# skipped //p' "$report")"
rm -f "$report"
if [[ "${passed:-0}" -lt 3 || "${skipped:-0}" -ne 0 ]]; then
  echo "FAILED: the admin browser suite passed ${passed:-0} tests and skipped ${skipped:-0}" >&2
  exit 1
fi
echo "admin page browser tests: $passed passed; screenshots in $CARGO_TARGET_DIR/browser-screenshots/admin"
