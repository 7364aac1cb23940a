#!/usr/bin/env bash
# Device-bound sessions in real time (minutes; not part of the test command): the demo over HTTPS
# with device binding, Debian's Chromium with DBSC on, the page calling the API every CALL_SECONDS
# while the bound cookie really expires every BOUND_SECONDS. Prints the renewals Chromium made and
# fails on any refused call, failed renewal or refresh the SDK had to make itself.
#
#   scripts/dbsc-soak.sh            # 600 s on 240 s cookies
#   SOAK_SECONDS=1200 BOUND_SECONDS=300 scripts/dbsc-soak.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
demo="$repo/crates/tessera-axum/examples/demo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
source "$repo/scripts/ensure-chromium.sh"
source "$repo/scripts/node-suite.sh"
npm_ci "$demo" "frontend SDK" --ignore-scripts
(cd "$repo" && cargo build --quiet -p tessera-axum --example demo)
DEMO_BIN="$CARGO_TARGET_DIR/debug/examples/demo" \
  run_node_tests "the device-binding soak" 1 "$demo/device-soak.test.mjs"
