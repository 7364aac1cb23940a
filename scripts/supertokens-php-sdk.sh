#!/usr/bin/env bash
# Runs the 2020 SuperTokens PHP SDK (supertokens/supertokens-laravel, tag v0.1.1, CDI 1.0) against
# `tessera serve`: create → verify → session data → refresh → refresh with the child token → theft
# on replaying the first refresh token after the grace period → revoke.
#
# Usage: scripts/supertokens-php-sdk.sh CHECKOUT
#   CHECKOUT  a checkout of https://github.com/supertokens/supertokens-laravel at tag v0.1.1
#
# Uses Debian's PHP 8.2 and its Laravel 8 packages (installed with apt-get when missing and run as
# root). The server is $TESSERA_BIN when set, else `cargo build -p tessera-server --bin tessera`;
# it listens on a free port with a temporary SQLite file and a 1 s refresh grace period, and is
# stopped on exit. The driver is crates/tessera-server/tests/sdk/php/scenario.php; this script exits
# with its status.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 SUPERTOKENS_LARAVEL_V0.1.1_CHECKOUT" >&2
  exit 2
fi
checkout="$(cd "$1" && pwd)"
if [[ ! -f "$checkout/src/SuperTokens.php" ]] || ! grep -q "const VERSION = '0.1.1'" "$checkout/src/Helpers/Constants.php"; then
  echo "FAILED: $checkout is not a supertokens-laravel v0.1.1 checkout" >&2
  exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scenario="$repo/crates/tessera-server/tests/sdk/php/scenario.php"

packages=(php8.2-cli php-laravel-framework php-guzzlehttp-guzzle php8.2-curl php8.2-mbstring php8.2-xml)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "FAILED: missing Debian packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y --no-install-recommends "${missing[@]}"; }
fi
php="$(command -v php8.2 || command -v php)"

if [[ -n "${TESSERA_BIN:-}" ]]; then
  bin="$TESSERA_BIN"
else
  echo "== building tessera"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
  (cd "$repo" && cargo build --quiet -p tessera-server --bin tessera)
  bin="$CARGO_TARGET_DIR/debug/tessera"
fi

work="$(mktemp -d)"
# shellcheck source=tessera-server.sh
source "$repo/scripts/tessera-server.sh"
cleanup() {
  stop_tessera
  rm -rf "$work"
}
trap cleanup EXIT

# No api_keys: v0.1.1 never sends an api-key header.
cat >"$work/tessera.yaml" <<YAML
port: 0
sqlite_path: $work/tessera.db
refresh_token_rotation_grace_period: 1
YAML

echo "== starting tessera"
start_tessera "$bin" "$work/tessera.yaml" "$work/server.log"
url="$tessera_url"
echo "tessera at $url"

echo "== supertokens-laravel v0.1.1 on $("$php" -r 'echo PHP_VERSION;')"
status=0
"$php" "$scenario" "$checkout" "$url" || status=$?

if ! kill -0 "$tessera_pid" 2>/dev/null; then
  cat "$work/server.log"; echo "FAILED: tessera died during the scenario"; exit 1
fi
if grep -q "panicked" "$work/server.log"; then
  cat "$work/server.log"; echo "FAILED: tessera panicked"; exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "--- tessera log"; tail -n 50 "$work/server.log"
  echo "FAILED: PHP SDK scenario (exit $status)"
fi
exit "$status"
