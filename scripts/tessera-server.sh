# Sourced by the scripts that run a real SDK or a peer's test suite against a fresh
# `tessera serve` (crates/tessera-server/tests/sdk/run.sh, supertokens-node-suite.sh,
# supertokens-php-sdk.sh).
#
# start_tessera BIN CONFIG LOG [FILTER]: starts `BIN serve --config CONFIG` with stderr in LOG and
#   the log filter TESSERA_LOG, else FILTER (default warn); TESSERA_BIN is not passed on (the
#   server warns about variables it does not know). Reads its "tessera listening on <url>" line,
#   keeps draining its stdout so it never blocks on a full pipe, waits for /hello, and sets
#   `tessera_url` and `tessera_pid`. When the server does not come up, prints LOG and exits.
# stop_tessera: stops the server (SIGTERM, then waits) and the drain; safe in an EXIT trap, and
#   when nothing was started.

tessera_pid=""
tessera_url=""
tessera_drain_pid=""

start_tessera() {
  local bin=$1 config=$2 log=$3 filter=${4:-warn} fifo line out
  fifo="$(mktemp -u)"
  mkfifo "$fifo"
  TESSERA_LOG="${TESSERA_LOG:-$filter}" env -u TESSERA_BIN "$bin" serve --config "$config" \
    >"$fifo" 2>"$log" &
  tessera_pid=$!
  exec {out}<"$fifo"
  rm -f "$fifo"
  if ! read -r -t 60 line <&"$out"; then
    cat "$log"; echo "FAILED: tessera did not start" >&2; exit 1
  fi
  tessera_url="${line#tessera listening on }"
  cat <&"$out" >/dev/null &
  tessera_drain_pid=$!
  exec {out}<&-
  for _ in $(seq 1 200); do
    if curl -fsS "$tessera_url/hello" >/dev/null 2>&1; then break; fi
    sleep 0.05
  done
  curl -fsS "$tessera_url/hello" >/dev/null || { cat "$log"; echo "FAILED: /hello" >&2; exit 1; }
}

stop_tessera() {
  if [[ -n "$tessera_pid" ]] && kill -0 "$tessera_pid" 2>/dev/null; then
    kill -TERM "$tessera_pid" 2>/dev/null || true
    wait "$tessera_pid" 2>/dev/null || true
  fi
  if [[ -n "$tessera_drain_pid" ]]; then
    kill "$tessera_drain_pid" 2>/dev/null || true
  fi
}
