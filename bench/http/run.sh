#!/usr/bin/env bash
# Side-by-side HTTP benchmark: the same small axum app (login, a protected feed, an unprotected
# route with the same body bytes) built on tessera-axum and on tower-sessions with its rusqlite
# store, both driven by wrk in one run, alternating rounds at 16 and 64 connections; prints the
# median requests per second of each route and the ratios. Every request carries the app's session
# cookie, protected route or not, as a signed-in browser's do (the cookies' path is `/`): the
# difference between the two routes is then what protecting a route costs.
#
#   bench/http/run.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds of 5 s per route and count)
#
# Needs wrk (Debian package `wrk`) and curl. Builds both apps in release mode under
# bench/http/target; each app has its own workspace and lock file.
set -euo pipefail
cd "$(dirname "$0")"
rounds="${1:-3}"
seconds="${2:-5}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

export CARGO_TARGET_DIR="$PWD/target"
cargo build --release --quiet --manifest-path tessera-app/Cargo.toml
cargo build --release --quiet --manifest-path tower-sessions-app/Cargo.toml

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null "$1/plain" && return 0; sleep 0.1; done; echo "$1 did not start" >&2; exit 1; }
# The value of cookie $2 set by POST $1/login.
login_cookie() { curl -fs -D - -o /dev/null -X POST "$1/login" | tr -d '\r' | sed -n "s/^[Ss]et-[Cc]ookie: $2=\([^;]*\).*/\1/p" | head -n1; }

tessera_port=$(free_port)
"$CARGO_TARGET_DIR/release/bench-http-tessera" "$tessera_port" "$work/tessera.db" & pids+=($!)
tower_port=$(free_port)
"$CARGO_TARGET_DIR/release/bench-http-tower-sessions" "$tower_port" "$work/tower.db" & pids+=($!)
tessera="http://127.0.0.1:$tessera_port"
tower="http://127.0.0.1:$tower_port"
wait_up "$tessera"; wait_up "$tower"

tessera_cookie="sAccessToken=$(login_cookie "$tessera" sAccessToken)"
tower_cookie="id=$(login_cookie "$tower" id)"
for check in "$tessera $tessera_cookie" "$tower $tower_cookie"; do
  set -- $check
  curl -fs -o /dev/null -H "Cookie: $2" "$1/api/feed" || { echo "signed-in feed refused at $1" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$1/api/feed")
  [[ $code == 401 ]] || { echo "feed without a session answered $code at $1" >&2; exit 1; }
done
cmp <(curl -fs -H "Cookie: $tessera_cookie" "$tessera/api/feed") <(curl -fs -H "Cookie: $tower_cookie" "$tower/api/feed")

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
  "tower-plain $tower/plain $tower_cookie ${pids[1]}"
  "tower-feed $tower/api/feed $tower_cookie ${pids[1]}"
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

python3 - "$results" "$rounds" "$seconds" <<'PY'
import statistics, sys
runs, cpu = {}, {}
for line in open(sys.argv[1]):
    route, connections, rps, us = line.split()
    runs.setdefault((route, int(connections)), []).append(float(rps))
    cpu.setdefault((route, int(connections)), []).append(float(us))
print(f"median req/s over {sys.argv[2]} rounds of {sys.argv[3]} s (wrk -t2)")
print(f"{'connections':>11} {'tessera plain':>14} {'tessera feed':>13} {'tower plain':>12} {'tower feed':>11} {'feed/plain':>11} {'tessera/tower feed':>19}")
for c in sorted({c for _, c in runs}):
    m = {r: statistics.median(runs[(r, c)]) for r, cc in runs if cc == c}
    print(f"{c:>11} {m['tessera-plain']:>14.0f} {m['tessera-feed']:>13.0f} {m['tower-plain']:>12.0f} {m['tower-feed']:>11.0f}"
          f" {m['tessera-feed']/m['tessera-plain']:>10.1%} {m['tessera-feed']/m['tower-feed']:>18.2f}x")
    print(f"{'':>11} (tower-sessions feed/plain: {m['tower-feed']/m['tower-plain']:.1%})")
print()
print("median app CPU time per request, microseconds (user + system)")
print(f"{'connections':>11} {'tessera plain':>14} {'tessera feed':>13} {'tower plain':>12} {'tower feed':>11} {'plain/feed':>11}")
for c in sorted({c for _, c in cpu}):
    m = {r: statistics.median(cpu[(r, c)]) for r, cc in cpu if cc == c}
    print(f"{c:>11} {m['tessera-plain']:>14.2f} {m['tessera-feed']:>13.2f} {m['tower-plain']:>12.2f} {m['tower-feed']:>11.2f}"
          f" {m['tessera-plain']/m['tessera-feed']:>10.1%}")
PY
