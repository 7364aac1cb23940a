#!/usr/bin/env bash
# Side-by-side HTTP benchmark: the same small app (login, a protected feed, an unprotected route
# with the same body bytes) built on Tessera and on the framework's usual session crate, both
# driven by wrk in one run, alternating rounds at 16 and 64 connections; prints the median
# requests per second of each route and the ratios. Every request carries the app's session
# cookie, protected route or not, as a signed-in browser's do (the cookies' path is `/`): the
# difference between the two routes is then what protecting a route costs.
#
#   bench/http/run.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds of 5 s per route and count)
#
# FRAMEWORK picks the pair: `axum` (default): tessera-axum against tower-sessions with its
# rusqlite store; `actix`: tessera-actix against actix-session with its Redis store (REDIS_URL,
# default redis://127.0.0.1:6379). Tessera keeps its sessions in SQLite in both.
#
# Needs wrk (Debian package `wrk`) and curl. Builds both apps in release mode under
# bench/http/target; each app has its own workspace and lock file.
set -euo pipefail
cd "$(dirname "$0")"
rounds="${1:-3}"
seconds="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

framework="${FRAMEWORK:-axum}"
case "$framework" in
  axum)
    tessera_app=tessera-app tessera_bin=bench-http-tessera
    other_app=tower-sessions-app other_bin=bench-http-tower-sessions other_name=tower-sessions ;;
  actix)
    tessera_app=actix-tessera-app tessera_bin=bench-http-actix-tessera
    other_app=actix-session-app other_bin=bench-http-actix-session other_name=actix-session ;;
  *) echo "FRAMEWORK must be axum or actix, not $framework" >&2; exit 1 ;;
esac

export CARGO_TARGET_DIR="$PWD/target"
cargo build --release --quiet --manifest-path "$tessera_app/Cargo.toml"
cargo build --release --quiet --manifest-path "$other_app/Cargo.toml"

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null "$1/plain" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 1; }
# The value of cookie $2 set by POST $1/login.
login_cookie() { curl -fs -D - -o /dev/null -X POST "$1/login" | tr -d '\r' | sed -n "s/^[Ss]et-[Cc]ookie: $2=\([^;]*\).*/\1/p" | head -n1; }

tessera_port=$(free_port)
"$CARGO_TARGET_DIR/release/$tessera_bin" "$tessera_port" "$work/tessera.db" & pids+=($!)
other_port=$(free_port)
# The other app's store: its own SQLite file, or the machine's Redis.
other_store="$work/other.db"
[[ $framework == actix ]] && other_store="${REDIS_URL:-redis://127.0.0.1:6379}"
"$CARGO_TARGET_DIR/release/$other_bin" "$other_port" "$other_store" & pids+=($!)
tessera="http://127.0.0.1:$tessera_port"
other="http://127.0.0.1:$other_port"
wait_up "$tessera"; wait_up "$other"

tessera_cookie="sAccessToken=$(login_cookie "$tessera" sAccessToken)"
other_cookie="id=$(login_cookie "$other" id)"
for check in "$tessera $tessera_cookie" "$other $other_cookie"; do
  set -- $check
  curl -fs -o /dev/null -H "Cookie: $2" "$1/api/feed" || { echo "signed-in feed refused at $1" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$1/api/feed")
  [[ $code == 401 ]] || { echo "feed without a session answered $code at $1" >&2; exit 1; }
done
cmp <(curl -fs -H "Cookie: $tessera_cookie" "$tessera/api/feed") <(curl -fs -H "Cookie: $other_cookie" "$other/api/feed")

results="$work/results"
ticks=$(getconf CLK_TCK)
# CPU time (user + system, clock ticks) the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One wrk run; records "route connections requests_per_second cpu_microseconds_per_request", and
# fails on any non-2xx answer. The app's CPU time per request is the steadier figure on a shared
# machine: it does not depend on how the cores were split between the app and wrk.
measure() { # label connections url cookie pid
  local out before after
  before=$(cpu_ticks "$5")
  out=$(wrk -t2 -c"$2" -d"${seconds}s" ${4:+-H "Cookie: $4"} "$3")
  after=$(cpu_ticks "$5")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1 at $2 connections: non-2xx answers" >&2; echo "$out" >&2; exit 1; fi
  local rps requests
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/ requests in / {print $1}' <<<"$out")
  echo "$1 $2 $rps $(python3 -c "print(($after - $before) * 1e6 / $ticks / $requests)")" >>"$results"
}

runs=(
  "tessera-plain $tessera/plain $tessera_cookie ${pids[0]}"
  "tessera-feed $tessera/api/feed $tessera_cookie ${pids[0]}"
  "other-plain $other/plain $other_cookie ${pids[1]}"
  "other-feed $other/api/feed $other_cookie ${pids[1]}"
)
for round in $(seq "$rounds"); do
  for connections in 16 64; do
    echo "round $round, $connections connections" >&2
    # Every other round runs the routes in reverse, so that a machine speeding up or slowing down
    # within a round favours no route.
    order=(0 1 2 3)
    ((round % 2 == 0)) && order=(3 2 1 0)
    for i in "${order[@]}"; do
      set -- ${runs[$i]}
      measure "$1" "$connections" "$2" "$3" "$4"
    done
  done
done

python3 - "$results" "$rounds" "$seconds" "$framework" "$other_name" <<'PY'
import statistics, sys
framework, other = sys.argv[4], sys.argv[5]
print(f"{framework}: Tessera against {other}")
runs, cpu = {}, {}
for line in open(sys.argv[1]):
    route, connections, rps, us = line.split()
    runs.setdefault((route, int(connections)), []).append(float(rps))
    cpu.setdefault((route, int(connections)), []).append(float(us))
print(f"median req/s over {sys.argv[2]} rounds of {sys.argv[3]} s (wrk -t2)")
print(f"{'connections':>11} {'tessera plain':>14} {'tessera feed':>13} {'other plain':>12} {'other feed':>11} {'feed/plain':>11} {'tessera/other feed':>19}")
for c in sorted({c for _, c in runs}):
    m = {r: statistics.median(runs[(r, c)]) for r, cc in runs if cc == c}
    print(f"{c:>11} {m['tessera-plain']:>14.0f} {m['tessera-feed']:>13.0f} {m['other-plain']:>12.0f} {m['other-feed']:>11.0f}"
          f" {m['tessera-feed']/m['tessera-plain']:>10.1%} {m['tessera-feed']/m['other-feed']:>18.2f}x")
    print(f"{'':>11} ({other} feed/plain: {m['other-feed']/m['other-plain']:.1%})")
print()
print("median app CPU time per request, microseconds (user + system)")
print(f"{'connections':>11} {'tessera plain':>14} {'tessera feed':>13} {'other plain':>12} {'other feed':>11} {'plain/feed':>11}")
for c in sorted({c for _, c in cpu}):
    m = {r: statistics.median(cpu[(r, c)]) for r, cc in cpu if cc == c}
    print(f"{c:>11} {m['tessera-plain']:>14.2f} {m['tessera-feed']:>13.2f} {m['other-plain']:>12.2f} {m['other-feed']:>11.2f}"
          f" {m['tessera-plain']/m['tessera-feed']:>10.1%}")
PY
