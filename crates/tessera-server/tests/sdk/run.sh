#!/usr/bin/env bash
# Runs the real SuperTokens backend SDKs (pinned: supertokens-node 24.0.3, supertokens-python
# 0.31.4) against a freshly built `tessera serve` on a free port with a temporary SQLite file.
# Fails loudly on any failure; never skips.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
venv="${TESSERA_SDK_VENV:-$CARGO_TARGET_DIR/sdk-venv}"
work="$(mktemp -d)"
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing pinned SDKs"
(cd "$here/node" && if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >"$work/npm.log" 2>&1 \
  || { cat "$work/npm.log"; echo "FAILED: npm install"; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt" \
  || { echo "FAILED: pip install"; exit 1; }

echo "== building tessera"
(cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)
bin="$CARGO_TARGET_DIR/debug/tessera"

api_key="tessera-sdk-test-key-0123456789"
cat >"$work/tessera.yaml" <<YAML
port: 0
sqlite_path: $work/tessera.db
api_keys: $api_key
refresh_token_rotation_grace_period: 1
YAML

echo "== starting tessera"
mkfifo "$work/out"
TESSERA_LOG="${TESSERA_LOG:-warn}" "$bin" serve --config "$work/tessera.yaml" >"$work/out" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/out"
if ! read -r -t 60 line <&3; then
  cat "$work/server.log"; echo "FAILED: tessera did not start"; exit 1
fi
url="${line#tessera listening on }"
# Keep draining stdout so the server never blocks on a full pipe.
cat <&3 >/dev/null &
for _ in $(seq 1 200); do
  if curl -fsS "$url/hello" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
curl -fsS "$url/hello" >/dev/null || { cat "$work/server.log"; echo "FAILED: /hello"; exit 1; }
echo "tessera at $url"

export TESSERA_URL="$url" TESSERA_API_KEY="$api_key" TESSERA_GRACE_SECONDS=1
failed=0

echo "== supertokens-node 24.0.3"
if ! (cd "$here/node" && node --test --test-concurrency=1 session.test.js anticsrf-static-key.test.js tenants.test.js) >"$work/node.out" 2>&1; then
  failed=1
fi
cat "$work/node.out"

# Apps: the same test once per app, each a node process of its own (the SDK takes one
# connectionURI per process), the second checking that the first app's sessions stay apart.
for run in "app-one:" "app-two:app-one"; do
  app="${run%%:*}" other="${run#*:}"
  if ! (cd "$here/node" && TESSERA_APP="$app" TESSERA_OTHER_APP="$other" \
        node --test --test-concurrency=1 apps.test.js) >"$work/node-$app.out" 2>&1; then
    failed=1
  fi
  cat "$work/node-$app.out"
done

echo "== supertokens-python 0.31.4"
if ! (cd "$here/python" && "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider test_session.py) >"$work/python.out" 2>&1; then
  failed=1
fi
cat "$work/python.out"

# Counts from both runners; a suite that ran nothing or skipped anything is a failure.
node_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/node.out" | tail -n 1)
node_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/node.out" | tail -n 1)
node_skip=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$work/node.out" | tail -n 1)
count() { { grep -oE "[0-9]+ ($1)" "$2" || true; } | awk '{s+=$1} END {print s+0}'; }
py_pass=$(count "passed" "$work/python.out")
py_fail=$(count "failed|errors?" "$work/python.out")
py_skip=$(count "skipped" "$work/python.out")
for app in app-one app-two; do
  node_pass=$(( ${node_pass:-0} + $(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/node-$app.out" | tail -n 1) ))
  node_fail=$(( ${node_fail:-0} + $(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/node-$app.out" | tail -n 1) ))
  node_skip=$(( ${node_skip:-0} + $(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$work/node-$app.out" | tail -n 1) ))
done
node_pass=${node_pass:-0}; node_fail=${node_fail:-0}; node_skip=${node_skip:-0}
py_fail=${py_fail:-0}
if [[ $node_pass -eq 0 || $py_pass -eq 0 || $node_skip -ne 0 || $py_skip -ne 0 ]]; then
  echo "FAILED: a suite ran no test or skipped some (node $node_pass passed/$node_skip skipped, python $py_pass passed/$py_skip skipped)"
  failed=1
fi

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "FAILED: tessera died during the tests"; cat "$work/server.log"; exit 1
fi
if grep -q "panicked" "$work/server.log"; then
  echo "FAILED: tessera panicked"; cat "$work/server.log"; exit 1
fi
if [[ $failed -ne 0 ]]; then
  echo "--- tessera log"; tail -n 50 "$work/server.log"
  echo "sdk: $((node_pass + py_pass)) passed, $((node_fail + py_fail > 0 ? node_fail + py_fail : 1)) failed"
  echo "FAILED: SDK compatibility tests"; exit 1
fi
echo "SDK compatibility: all suites passed"
echo "sdk: $((node_pass + py_pass)) passed, $((node_fail + py_fail)) failed"
