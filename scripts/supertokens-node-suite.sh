#!/usr/bin/env bash
# Runs supertokens-node's own mocha test suite (its session-related files) against a freshly
# started `tessera serve`, measuring how much of what the SDK's tests expect of SuperTokens core
# Tessera does. Unlike crates/tessera-server/tests/sdk/run.sh (our own tests, which must all
# pass), this is a measurement: the suite also tests things outside a session service
# (emailpassword, passwordless, user lookup, ...) that are expected to fail here.
#
#   scripts/supertokens-node-suite.sh [--session-only] CHECKOUT [FILE...]
#
# CHECKOUT is a git checkout of supertokens-node (e.g. tag v24.0.2; not part of this repo, and
# never copied into it). FILEs are test files relative to it; by default the session files and
# the framework/middleware/jwt/openid files (`--session-only`: the session files alone).
#
# - Installs the checkout's devDependencies from npm when its node_modules is missing, leaving
#   out the git-hosted `mocha-split-tests` (its package.json and lock file are put back after).
#   Builds its lib/build with tsc if missing (the published tags carry it prebuilt).
# - Builds `tessera` (cargo build -p tessera-server --bin tessera) unless TESSERA_BIN is set, and
#   starts it on a free port with a temporary SQLite file and no API keys; the suite finds the
#   core through SUPERTOKENS_CORE_HOST / SUPERTOKENS_CORE_PORT (its test/utils.js `getCoreUrl`)
#   and creates one app per test with PUT /recipe/multitenancy/app/v2.
# - Runs one mocha process per file (the suite's own settings: --exit, 40 s per test, the
#   test/hooks.js resetAll hooks, fetch polyfilled, TEST_MODE=testing), each limited to
#   NODE_SUITE_FILE_TIMEOUT seconds (default 900), with the spec reporter on stdout and a JSON
#   report beside it; prints each file's passed/failed/pending counts, then
#   `node-suite: N passed, M failed`. A file whose mocha gives no report (crash, timeout) counts
#   as one failure. Exits non-zero when anything failed.
# - Keeps the logs (per file: spec output and JSON report; failures.txt listing every failed
#   test with its error; tessera.log) in NODE_SUITE_LOG_DIR, or a fresh temporary directory whose
#   path is printed. TESSERA_LOG (default `debug`, which logs every request) sets the server's log
#   filter; other TESSERA_* settings in the environment reach the server too. The server runs
#   with refresh_token_rotation_grace_period 0 (NODE_SUITE_GRACE_SECONDS), the rule of the core
#   the suite was written for: its theft tests expect theft at a replay milliseconds after the
#   client moved past the token.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

session_files=(
  "test/session.test.js"
  "test/session/**/*.test.js"
  "test/sessionAccessTokenSigningKeyUpdate.test.js"
  "test/sessionExpress.test.js"
  "test/auth-modes.test.js"
)
framework_files=(
  "test/framework/**/*.test.js"
  "test/middleware*.test.js"
  "test/jwt/**/*.test.js"
  "test/openid/**/*.test.js"
)

session_only=0
if [[ "${1:-}" == "--session-only" ]]; then
  session_only=1
  shift
fi
if [[ $# -lt 1 || "$1" == -* ]]; then
  echo "usage: $0 [--session-only] SUPERTOKENS_NODE_CHECKOUT [TEST_FILE...]" >&2
  exit 2
fi
checkout="$(cd "$1" && pwd)"
shift
[[ -f "$checkout/test/utils.js" && -f "$checkout/package.json" ]] \
  || { echo "FAILED: $checkout is not a supertokens-node checkout" >&2; exit 2; }

file_timeout="${NODE_SUITE_FILE_TIMEOUT:-900}"
logs="${NODE_SUITE_LOG_DIR:-$(mktemp -d -t tessera-node-suite.XXXXXX)}"
mkdir -p "$logs"
work="$(mktemp -d)"
restore_manifest=0
# shellcheck source=tessera-server.sh
source "$repo/scripts/tessera-server.sh"

cleanup() {
  stop_tessera
  if [[ $restore_manifest -eq 1 ]]; then
    cp "$work/package.json" "$checkout/package.json"
    [[ -f "$work/package-lock.json" ]] && cp "$work/package-lock.json" "$checkout/package-lock.json"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The test files, expanded inside the checkout.
if [[ $# -gt 0 ]]; then
  patterns=("$@")
elif [[ $session_only -eq 1 ]]; then
  patterns=("${session_files[@]}")
else
  patterns=("${session_files[@]}" "${framework_files[@]}")
fi
files=()
shopt -s globstar nullglob
for pattern in "${patterns[@]}"; do
  # shellcheck disable=SC2206 # the pattern is meant to be expanded here
  matched=( $(cd "$checkout" && printf '%s\n' $pattern) )
  [[ ${#matched[@]} -gt 0 ]] || { echo "FAILED: no test file matches $pattern" >&2; exit 2; }
  files+=("${matched[@]}")
done
shopt -u globstar nullglob

if [[ ! -d "$checkout/node_modules" ]]; then
  echo "== installing the checkout's devDependencies (without mocha-split-tests)"
  cp "$checkout/package.json" "$work/package.json"
  [[ -f "$checkout/package-lock.json" ]] && cp "$checkout/package-lock.json" "$work/package-lock.json"
  restore_manifest=1
  (cd "$checkout" && node -e '
    const fs = require("fs");
    const manifest = JSON.parse(fs.readFileSync("package.json", "utf8"));
    delete manifest.devDependencies["mocha-split-tests"];
    fs.writeFileSync("package.json", JSON.stringify(manifest, null, 4) + "\n");')
  (cd "$checkout" && npm install --no-audit --no-fund --ignore-scripts) >"$logs/npm.log" 2>&1 \
    || { cat "$logs/npm.log"; echo "FAILED: npm install in $checkout" >&2; exit 1; }
  cp "$work/package.json" "$checkout/package.json"
  [[ -f "$work/package-lock.json" ]] && cp "$work/package-lock.json" "$checkout/package-lock.json"
  restore_manifest=0
fi
if [[ ! -f "$checkout/lib/build/index.js" ]]; then
  echo "== building the checkout's lib/build"
  (cd "$checkout/lib" && ../node_modules/.bin/tsc -p tsconfig.json)
fi

if [[ -n "${TESSERA_BIN:-}" ]]; then
  bin="$TESSERA_BIN"
else
  echo "== building tessera"
  (cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/tessera"
fi
[[ -x "$bin" ]] || { echo "FAILED: no tessera binary at $bin" >&2; exit 1; }

# SuperTokens core has no grace window: the suite's theft tests replay a rotated refresh token
# milliseconds after the client moved past it and expect theft at once. Tessera forgives that
# window by default (honest tabs racing, lost responses; docs/design.md), so the suite runs with
# it closed, as its reference core does (NODE_SUITE_GRACE_SECONDS to try another).
cat >"$work/tessera.yaml" <<YAML
port: 0
sqlite_path: $work/tessera.db
refresh_token_rotation_grace_period: ${NODE_SUITE_GRACE_SECONDS:-0}
YAML

echo "== starting tessera"
start_tessera "$bin" "$work/tessera.yaml" "$logs/tessera.log" debug
url="$tessera_url"
hostport="${url#http://}"
echo "tessera at $url; logs in $logs"

# Mocha with the suite's own settings (.mocharc.yml and the `test` npm script) but our reporters:
# spec on stdout and a JSON report per file.
mocha=("$checkout/node_modules/.bin/mocha" --no-config --exit --slow 10000 --timeout 40000
  --require test/hooks.js --node-option no-experimental-fetch --require test/fetch-polyfill.mjs
  --reporter mocha-multi-reporters)

total_passed=0 total_failed=0 total_pending=0
: >"$logs/failures.txt"
printf '%-66s %7s %7s %7s %6s\n' "file" "passed" "failed" "pending" "time" | tee "$logs/summary.txt"
for file in "${files[@]}"; do
  name="${file#test/}"
  name="${name//\//__}"
  name="${name%.js}"
  report="$logs/$name.json"
  rm -f "$report"
  cat >"$work/reporters.json" <<JSON
{ "reporterEnabled": "spec, mocha-json-output-reporter",
  "mochaJsonOutputReporterReporterOptions": { "output": "$report" } }
JSON
  start=$(date +%s)
  rc=0
  (cd "$checkout" && TEST_MODE=testing SUPERTOKENS_CORE_HOST="${hostport%:*}" \
     SUPERTOKENS_CORE_PORT="${hostport##*:}" timeout --kill-after=10 "$file_timeout" \
     "${mocha[@]}" --reporter-option "configFile=$work/reporters.json" "$file") \
    >"$logs/$name.log" 2>&1 || rc=$?
  seconds=$(( $(date +%s) - start ))
  # passed, failed and pending from the JSON report; the failed tests' titles and errors go to
  # failures.txt. No report (a crash, or the timeout) counts as one failure.
  counts=""
  if [[ -s "$report" ]]; then
    counts="$(node -e '
      const fs = require("fs");
      const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      for (const t of r.failures) {
        const message = String((t.err && (t.err.message || t.err.stack)) || "").split("\n").slice(0, 3).join(" | ");
        const title = t.fullTitle.replace(/\x1b\[[0-9;]*m/g, "");
        fs.appendFileSync(process.argv[2], `${process.argv[3]} :: ${title} :: ${message}\n`);
      }
      console.log(r.stats.passes, r.stats.failures, r.stats.pending);' \
      "$report" "$logs/failures.txt" "$file")" || counts=""
  fi
  note=""
  if [[ -n "$counts" ]]; then
    read -r passed failed pending <<<"$counts"
  else
    passed=0 failed=1 pending=0
    note="  (no report: mocha exited with $rc"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then note+=", timed out after ${file_timeout}s"; fi
    note+=")"
    echo "$file :: (whole file) :: no report, mocha exited with $rc" >>"$logs/failures.txt"
  fi
  printf '%-66s %7d %7d %7d %5ds%s\n' "$file" "$passed" "$failed" "$pending" "$seconds" "$note" \
    | tee -a "$logs/summary.txt"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_pending=$((total_pending + pending))
  if ! kill -0 "$tessera_pid" 2>/dev/null; then
    echo "FAILED: tessera died during $file; see $logs/tessera.log" >&2
    total_failed=$((total_failed + 1))
    break
  fi
done

if grep -q "panicked" "$logs/tessera.log"; then
  echo "tessera panicked; see $logs/tessera.log" >&2
  total_failed=$((total_failed + 1))
fi
echo "pending: $total_pending; failed tests listed in $logs/failures.txt; logs in $logs"
echo "node-suite: $total_passed passed, $total_failed failed" | tee -a "$logs/summary.txt"
[[ $total_failed -eq 0 ]]
