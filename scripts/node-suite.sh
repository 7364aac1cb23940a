# Sourced by the browser test scripts: installs a folder's pinned npm packages, and runs a
# node:test file, failing unless it passed at least a given number of tests and skipped none.

# npm_ci DIR LABEL [npm ci options...]: `npm ci` in DIR; its output is shown only on failure.
npm_ci() {
  local dir=$1 label=$2 log
  shift 2
  log="$(mktemp)"
  (cd "$dir" && npm ci --no-audit --no-fund "$@") >"$log" 2>&1 \
    || { cat "$log"; rm -f "$log"; echo "FAILED: npm ci ($label)" >&2; exit 1; }
  rm -f "$log"
}

# run_node_tests LABEL MIN FILE: runs FILE with node's test runner (the spec report on stdout)
# and sets `passed` to the number of tests that passed. Fails if a test failed, any was skipped or
# fewer than MIN passed (a suite that silently ran nothing is not a pass).
run_node_tests() {
  local label=$1 min=$2 file=$3 report skipped
  report="$(mktemp)"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" "$file" \
    || { rm -f "$report"; echo "FAILED: $label" >&2; exit 1; }
  passed="$(sed -n 's/^# pass //p' "$report")"
  skipped="$(sed -n 's/^# skipped //p' "$report")"
  rm -f "$report"
  if [[ "${passed:-0}" -lt "$min" || "${skipped:-0}" -ne 0 ]]; then
    echo "FAILED: $label passed ${passed:-0} tests and skipped ${skipped:-0}" >&2
    exit 1
  fi
}
