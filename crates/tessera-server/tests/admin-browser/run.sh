#!/usr/bin/env bash
# Runs the admin page's browser tests: Debian's Chromium (/usr/bin/chromium) driven by the pinned
# playwright-core against `tessera serve` built from this checkout. Fails loudly; never skips.
# Screenshots of each step go to $CARGO_TARGET_DIR/browser-screenshots/admin/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

source "$repo/scripts/ensure-chromium.sh"
source "$repo/scripts/node-suite.sh"

echo "== installing the pinned playwright-core"
npm_ci "$here" playwright-core --ignore-scripts

echo "== building the tessera server"
(cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)

echo "== admin page browser tests"
TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" \
SCREENSHOT_DIR="$CARGO_TARGET_DIR/browser-screenshots/admin" \
  run_node_tests "the admin page browser tests" 5 "$here/admin.test.mjs"
echo "admin page browser tests: $passed passed; screenshots in $CARGO_TARGET_DIR/browser-screenshots/admin"
