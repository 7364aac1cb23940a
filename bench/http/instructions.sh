#!/usr/bin/env bash
# What protecting a route costs in the app's own instructions, free of the machine's noise:
# runs the benchmark's Tessera app under valgrind's callgrind, drives `/plain` and then
# `/api/feed` with wrk (the session cookie on both, as in run.sh), and prints the user-space
# instructions per request of each route. Kernel work (the sockets) is the same for both routes and
# not counted. Instruction counts repeat from run to run where timings do not.
#
#   bench/http/instructions.sh [SECONDS]      (default 5 s per route)
#
# FRAMEWORK=actix counts the tessera-actix app instead (default: axum, the tessera-axum app).
#
# Needs valgrind, wrk and curl. Builds the app in release mode under bench/http/target.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-5}"
for tool in valgrind callgrind_control wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (Debian packages valgrind, wrk, curl)" >&2; exit 1; }
done

case "${FRAMEWORK:-axum}" in
  axum) app=tessera-app bin=bench-http-tessera ;;
  actix) app=actix-tessera-app bin=bench-http-actix-tessera ;;
  *) echo "FRAMEWORK must be axum or actix" >&2; exit 1 ;;
esac
export CARGO_TARGET_DIR="$PWD/target"
cargo build --release --quiet --manifest-path "$app/Cargo.toml"

work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# KEEP_PROFILE=DIR keeps the callgrind dumps there, for callgrind_annotate.
[[ -n ${KEEP_PROFILE:-} ]] && trap 'cp "$work"/callgrind.out.* "$KEEP_PROFILE"/; cleanup' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Uncompressed names: each dump must name its functions itself to be read on its own.
valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$work/callgrind.out" \
  "$CARGO_TARGET_DIR/release/$bin" "$port" "$work/tessera.db" >"$work/valgrind.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 300); do curl -fs -o /dev/null "$url/plain" && break; sleep 0.2; done
cookie="sAccessToken=$(curl -fs -D - -o /dev/null -X POST "$url/login" | tr -d '\r' \
  | sed -n 's/^[Ss]et-[Cc]ookie: sAccessToken=\([^;]*\).*/\1/p' | head -n1)"

# Warm both routes (the token cache, lazily built state), then count from zero.
for route in plain api/feed; do wrk -t1 -c4 -d2s -H "Cookie: $cookie" "$url/$route" >/dev/null; done
callgrind_control -z "$pid" >/dev/null 2>&1
declare -A requests
for route in plain api/feed; do
  out=$(wrk -t1 -c4 -d"${seconds}s" -H "Cookie: $cookie" "$url/$route")
  if grep -q "Non-2xx" <<<"$out"; then echo "$route: non-2xx answers" >&2; exit 1; fi
  requests[$route]=$(awk '/ requests in / {print $1}' <<<"$out")
  callgrind_control -d "$route" "$pid" >/dev/null 2>&1
done

total() { awk '/^summary:/ {print $2}' "$1"; }
python3 - "$(total "$work/callgrind.out.1")" "${requests[plain]}" \
  "$(total "$work/callgrind.out.2")" "${requests[api/feed]}" <<'PY'
import sys
plain = int(sys.argv[1]) / int(sys.argv[2])
feed = int(sys.argv[3]) / int(sys.argv[4])
print(f"user-space instructions per request (callgrind, {sys.argv[2]} and {sys.argv[4]} requests)")
print(f"  /plain     {plain:>8.0f}")
print(f"  /api/feed  {feed:>8.0f}   (+{feed - plain:.0f}, {feed / plain:.2f}x /plain)")
PY
