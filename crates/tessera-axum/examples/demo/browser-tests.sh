#!/usr/bin/env bash
# Runs the demo's browser tests: Debian's Chromium (/usr/bin/chromium) driven by the pinned
# playwright-core, against each demo built from this checkout (axum's, and actix-web's in
# crates/tessera-actix/examples/demo, which serves the same page at the same paths), with the unmodified SuperTokens
# frontend SDK (supertokens-web-js, pinned) doing the refreshes, once with the demo's embedded
# engine and once with a `tessera` server behind it; then device-bound sessions (DBSC) with the
# demo over HTTPS, in Chromium with DBSC on and off. Fails loudly; never skips.
# Screenshots of each step go to $CARGO_TARGET_DIR/browser-screenshots/{axum,actix}/{local,remote}/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

source "$repo/scripts/ensure-chromium.sh"
source "$repo/scripts/node-suite.sh"

echo "== installing the pinned frontend SDK and playwright-core"
npm_ci "$here" "frontend SDK" --ignore-scripts
# The supertokens-node backend of test 10 (pinned in the SDK tests' package.json).
npm_ci "$repo/crates/tessera-server/tests/sdk/node" supertokens-node

echo "== building the demos and the tessera server"
(cd "$repo" && cargo build --quiet -p tessera-axum --features remote --example demo \
  && cargo build --quiet -p tessera-actix --features remote --example actix-demo \
  && cargo build --quiet -p tessera-server --bin tessera)

# suite LABEL MIN FILE: one node:test suite against this framework's demo over this back end.
suite() {
  echo "== $1, $framework demo, $backend back end"
  BACKEND="$backend" \
  DEMO_BIN="$CARGO_TARGET_DIR/debug/examples/${demos[$framework]}" \
  TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera" \
  SCREENSHOT_DIR="$CARGO_TARGET_DIR/browser-screenshots/$framework/$backend" \
    run_node_tests "the $framework $backend $1" "$2" "$3"
  total=$((total + passed))
}

declare -A demos=([axum]=demo [actix]=actix-demo)
total=0
for framework in axum actix; do
  for backend in local remote; do
    suite "browser suite" 13 "$here/browser.test.mjs"
    suite "device-binding suite" 4 "$here/device.test.mjs"
  done
done
echo "browser tests: $total passed; screenshots in $CARGO_TARGET_DIR/browser-screenshots/{axum,actix}/{local,remote}"
