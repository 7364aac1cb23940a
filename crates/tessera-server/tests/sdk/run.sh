#!/usr/bin/env bash
# Runs the real SuperTokens backend SDKs, unmodified from npm/PyPI and pinned exactly, against one
# freshly started `tessera serve` (free port, temporary SQLite file, grace period 1 s):
#   - node/ (supertokens-node 24.0.3, CDI 5.4): session, anti-CSRF, tenants and apps suites;
#   - node-compat/compat.test.js once per supertokens-node release installed under an npm alias
#     in node-compat/package.json, one per CDI generation: 12.1.7 (2.15) and 13.6.1 (2.20), the
#     handshake era (V2 tokens the SDK verifies with the key from /recipe/handshake; the SDK runs
#     in an express app, its core calls go through a recording proxy), 14.1.4 (2.21),
#     15.2.3 (3.0), 16.7.6 (4.0), 17.1.5 (5.0), 20.1.7 (5.1), 21.1.2 (5.2), 23.1.0 (5.3),
#     24.0.3 (5.4);
#   - python/test_session.py once per supertokens-python release, each in its own virtualenv
#     $CARGO_TARGET_DIR/sdk-venv-<version> built from a pinned requirements file:
#     requirements-0.12.txt (0.12.10, CDI 2.20, the handshake era, driven through the SDK's
#     BaseRequest/BaseResponse), requirements-0.14.txt (0.14.9, 2.21),
#     requirements-0.24.txt (0.24.4, 3.0), requirements-0.26.txt (0.26.1, 5.1),
#     requirements-0.28.txt (0.28.2, 5.2),
#     requirements-0.30.txt (0.30.4, 5.3), requirements.txt (0.31.4, 5.4).
# Installs on first use (npm ci from the committed lock files, redone only when a lock file
# changes; virtualenvs created once, pip re-checked every run). TESSERA_BIN names a prebuilt
# `tessera` binary to use instead of `cargo build`.
# Prints one line per SDK run ("supertokens-node 16.7.6 (CDI 4.0): 10 passed, 0 failed") and the
# total ("sdk: N passed, M failed"). Fails loudly on any failure; a run that ran no test or
# skipped any test is a failure. Never skips.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
work="$(mktemp -d)"
# shellcheck source=../../../../scripts/tessera-server.sh
source "$repo/scripts/tessera-server.sh"

# The compat runs: npm aliases in node-compat/package.json, requirements files in python/.
node_sdks=(supertokens-node-12 supertokens-node-13 supertokens-node-14 supertokens-node-15
           supertokens-node-16 supertokens-node-17 supertokens-node-20 supertokens-node-21
           supertokens-node-23 supertokens-node-24)
python_reqs=(requirements-0.12.txt requirements-0.14.txt requirements-0.24.txt
             requirements-0.26.txt requirements-0.28.txt requirements-0.30.txt requirements.txt)

cleanup() {
  stop_tessera
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing pinned SDKs"
# npm ci wipes node_modules; skip it while node_modules was installed from this very lock file.
npm_install() {
  local dir="$1" stamp="$1/node_modules/.tessera-installed-lock"
  if [[ -f "$dir/package-lock.json" && -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  (cd "$dir" && if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) \
    >"$work/npm.log" 2>&1 || { cat "$work/npm.log"; echo "FAILED: npm install in $dir"; exit 1; }
  if [[ -f "$dir/package-lock.json" ]]; then cp "$dir/package-lock.json" "$stamp"; fi
}
npm_install "$here/node"
npm_install "$here/node-compat"

py_version() { sed -n 's/^supertokens-python==\([^[:space:]]*\).*$/\1/p' "$here/python/$1"; }
for req in "${python_reqs[@]}"; do
  version="$(py_version "$req")"
  [[ -n "$version" ]] || { echo "FAILED: $req pins no supertokens-python"; exit 1; }
  venv="$CARGO_TARGET_DIR/sdk-venv-$version"
  # A virtualenv names its own path in its scripts: one moved with its target directory (or
  # left half-made) no longer runs, and is made again.
  if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv" || { echo "FAILED: python3 -m venv $venv"; exit 1; }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/$req" \
    || { echo "FAILED: pip install -r $req"; exit 1; }
done

if [[ -n "${TESSERA_BIN:-}" ]]; then
  bin="$TESSERA_BIN"
  [[ -x "$bin" ]] || { echo "FAILED: TESSERA_BIN=$bin is not an executable"; exit 1; }
  echo "== using $bin"
else
  echo "== building tessera"
  (cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)
  bin="$CARGO_TARGET_DIR/debug/tessera"
fi

api_key="tessera-sdk-test-key-0123456789"
cat >"$work/tessera.yaml" <<YAML
port: 0
sqlite_path: $work/tessera.db
api_keys: $api_key
refresh_token_rotation_grace_period: 1
YAML

echo "== starting tessera"
start_tessera "$bin" "$work/tessera.yaml" "$work/server.log"
url="$tessera_url"
echo "tessera at $url"

export TESSERA_URL="$url" TESSERA_API_KEY="$api_key" TESSERA_GRACE_SECONDS=1
failed=0 total_pass=0 total_fail=0
summary=()

# record LABEL RC FILE...: adds up the counts of one SDK's runs (node:test TAP summaries or
# pytest's last line), prints the runner output when something went wrong, keeps the line.
# A run that exited non-zero counts as at least one failure; one with no pass or any skip fails.
record() {
  local label="$1" rc="$2" pass=0 fail=0 skip=0 f p x s t
  shift 2
  for f in "$@"; do
    if grep -q '^# pass ' "$f"; then
      p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$f" | tail -n 1)
      x=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$f" | tail -n 1)
      s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$f" | tail -n 1)
      t=$(sed -n 's/^# todo \([0-9]*\)$/\1/p' "$f" | tail -n 1)
      s=$(( ${s:-0} + ${t:-0} ))
    else
      # pytest's closing line, e.g. "1 failed, 6 passed in 7.10s".
      local last; last=$({ grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$f" || true; } | tail -n 1)
      p=$({ grep -oE '[0-9]+ passed' <<<"$last" || true; } | awk '{s+=$1} END {print s+0}')
      x=$({ grep -oE '[0-9]+ (failed|errors?)' <<<"$last" || true; } | awk '{s+=$1} END {print s+0}')
      s=$({ grep -oE '[0-9]+ (skipped|xfailed|xpassed|deselected)' <<<"$last" || true; } | awk '{s+=$1} END {print s+0}')
    fi
    pass=$((pass + ${p:-0})); fail=$((fail + ${x:-0})); skip=$((skip + ${s:-0}))
  done
  if [[ $rc -ne 0 && $fail -eq 0 ]]; then fail=1; fi
  local line="$label: $pass passed, $fail failed"
  if [[ $skip -ne 0 ]]; then line="$line, $skip skipped (skips count as failures)"; fi
  if [[ $pass -eq 0 ]]; then line="$line (ran no test)"; fi
  if [[ $fail -ne 0 || $skip -ne 0 || $pass -eq 0 ]]; then
    failed=1
    [[ $fail -ne 0 ]] || fail=1
    cat "$@"
    line="$line  <-- FAILED"
  fi
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  summary+=("$line")
  echo "$line"
}

node_label() { # DIR PACKAGE
  (cd "$1" && node -e 'const v = require(process.argv[1] + "/lib/build/version");
    console.log(`supertokens-node ${v.version} (CDI ${v.cdiSupported.join(", ")})`)' "$2")
}
py_label() { # PYTHON
  "$1" -c 'from supertokens_python.constants import VERSION, SUPPORTED_CDI_VERSIONS as c
print("supertokens-python %s (CDI %s)" % (VERSION, ", ".join(c)))'
}

echo "== supertokens-node 24.0.3: session, anti-CSRF, tenants, apps"
rc=0
(cd "$here/node" && node --test --test-concurrency=1 session.test.js anticsrf-static-key.test.js tenants.test.js) \
  >"$work/node.out" 2>&1 || rc=1
# Apps: the same test once per app, each a node process of its own (the SDK takes one
# connectionURI per process), the second checking that the first app's sessions stay apart.
for run in "app-one:" "app-two:app-one"; do
  app="${run%%:*}" other="${run#*:}"
  (cd "$here/node" && TESSERA_APP="$app" TESSERA_OTHER_APP="$other" \
      node --test --test-concurrency=1 apps.test.js) >"$work/node-$app.out" 2>&1 || rc=1
done
record "$(node_label "$here/node" supertokens-node) full suite" "$rc" \
  "$work/node.out" "$work/node-app-one.out" "$work/node-app-two.out"

echo "== supertokens-node, one release per CDI version: node-compat/compat.test.js"
for sdk in "${node_sdks[@]}"; do
  rc=0
  (cd "$here/node-compat" && TESSERA_NODE_SDK="$sdk" node --test --test-concurrency=1 compat.test.js) \
    >"$work/$sdk.out" 2>&1 || rc=1
  record "$(node_label "$here/node-compat" "$sdk")" "$rc" "$work/$sdk.out"
done

echo "== supertokens-python, one release per CDI version: python/test_session.py"
for req in "${python_reqs[@]}"; do
  py="$CARGO_TARGET_DIR/sdk-venv-$(py_version "$req")/bin/python"
  rc=0
  (cd "$here/python" && "$py" -m pytest -q -rs -p no:cacheprovider test_session.py) \
    >"$work/python-$req.out" 2>&1 || rc=1
  record "$(py_label "$py")" "$rc" "$work/python-$req.out"
done

if ! kill -0 "$tessera_pid" 2>/dev/null; then
  echo "FAILED: tessera died during the tests"; cat "$work/server.log"; exit 1
fi
if grep -q "panicked" "$work/server.log"; then
  echo "FAILED: tessera panicked"; cat "$work/server.log"; exit 1
fi
echo "== per SDK"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "--- tessera log"; tail -n 50 "$work/server.log"
  echo "sdk: $total_pass passed, $((total_fail > 0 ? total_fail : 1)) failed"
  echo "FAILED: SDK compatibility tests"; exit 1
fi
echo "SDK compatibility: all suites passed"
echo "sdk: $total_pass passed, $total_fail failed"
