#!/usr/bin/env bash
# Runs the demo's browser tests: Debian's Chromium (/usr/bin/chromium) driven by the pinned
# playwright-core, against the demo built from this checkout, with the unmodified SuperTokens
# frontend SDK (supertokens-web-js, pinned) doing the refreshes, once with the demo's embedded
# engine and once with a `tessera` server behind it. Fails loudly; never skips.
# Screenshots of each step go to $CARGO_TARGET_DIR/browser-screenshots/{local,remote}/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

source "$repo/scripts/ensure-chromium.sh"

echo "== installing the pinned frontend SDK and playwright-core"
log="$(mktemp)"
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1 \
  || { cat "$log"; rm -f "$log"; echo "FAILED: npm ci" >&2; exit 1; }
rm -f "$log"
# The supertokens-node backend of test 10 (pinned in the SDK tests' package.json).
sdk_node="$repo/crates/tessera-server/tests/sdk/node"
log="$(mktemp)"
(cd "$sdk_node" && npm ci --no-audit --no-fund) >"$log" 2>&1 \
  || { cat "$log"; rm -f "$log"; echo "FAILED: npm ci (supertokens-node)" >&2; exit 1; }
rm -f "$log"

echo "== building the demo and the tessera server"
(cd "$repo" && cargo build --quiet -p tessera-axum --features remote --example demo \
  && cargo build --quiet -p tessera-server --bin tessera)

total=0
for backend in local remote; do
  echo "== browser tests, $backend back end"
  report="$(mktemp)"
  BACKEND="$backend" \
  DEMO_BIN="$CARGO_TARGET_DIR/debug/examples/demo" \
  TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" \
  SCREENSHOT_DIR="$CARGO_TARGET_DIR/browser-screenshots/$backend" \
    node --test --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$report" \
      "$here/browser.test.mjs" || { rm -f "$report"; echo "FAILED: browser tests ($backend)" >&2; exit 1; }
  passed="$(sed -n 's/^# pass //p' "$report")"
  skipped="$(sed -n 's/^# skipped //p' "$report")"
  rm -f "$report"
  if [[ "${passed:-0}" -lt 1 || "${skipped:-0}" -ne 0 ]]; then
    echo "FAILED: the $backend browser suite passed ${passed:-0} tests and skipped ${skipped:-0}" >&2
    exit 1
  fi
  total=$((total + passed))
done
echo "browser tests: $total passed; screenshots in $CARGO_TARGET_DIR/browser-screenshots/{local,remote}"
