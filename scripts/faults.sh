#!/usr/bin/env bash
# Several servers under faults, for as long as you like (not part of the test command, which runs
# the short version): three `tessera serve` processes over a PostgreSQL instance of the test's
# own, then over a MariaDB one, with servers killed, frozen and restarted and the database crashing, and a checker over
# the whole history. Prints the seed (replay with TESSERA_FAULTS_SEED), the requests and faults,
# and every violation with the slice of history that shows it.
#
#   scripts/faults.sh               # 900 s on each database
#   FAULTS_SECONDS=1800 scripts/faults.sh
#   TESSERA_FAULTS_SEED=123 FAULTS_SECONDS=60 scripts/faults.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cd "$repo"
cargo build --quiet -p tessera-server --bin tessera
TESSERA_FAULTS_SECONDS="${FAULTS_SECONDS:-900}" \
  cargo test --quiet -p tessera-server --test faults several_servers -- --nocapture --test-threads=1
