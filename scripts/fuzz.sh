#!/usr/bin/env bash
# Fuzzes Tessera's untrusted inputs with libFuzzer (cargo-fuzz): access tokens, tessera-axum's
# token extraction, CDI requests to the server and the server's YAML config. Each target runs
# for SECONDS (default 30), starting from the committed seed corpus in fuzz/corpus/<target>;
# what the fuzzer finds on the way goes to target/fuzz-corpus/<target>, and a crash stops the
# script with the input saved under fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS]
#
# Needs a nightly toolchain (installed with rustup when missing) and cargo-fuzz (installed from
# crates.io when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
cargo_fuzz_version=0.13.2

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

summary=()
for target in $(cargo +nightly fuzz list); do
  work="target/fuzz-corpus/$target"
  mkdir -p "$work"
  log="target/fuzz-$target.log"
  echo "== fuzzing $target for ${seconds}s"
  if ! cargo +nightly fuzz run "$target" "$work" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed; the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1)
  summary+=("$target: ${runs:-?} executions in ${seconds}s, ${cov:-cov: ?}, no crash")
done
printf '%s\n' "${summary[@]}"
