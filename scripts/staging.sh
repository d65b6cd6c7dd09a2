#!/usr/bin/env bash
# make staging: the whole suite against a deployment without the test API,
# as on a real staging login: kapu mockidp with its clock running and no
# /__kapu/, seeded with testdata/pool.json (6 accounts not enrolled, 2
# enrolled), and kapu run on the same accounts as its pool. It runs twice
# (the second run shows every account was left as found), then, with
# FAULTS=1, once against the mock broken in each of three requirements,
# which must fail. WORKERS=N sets the workers (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
kapu=bin/kapu
addr=127.0.0.1:${STAGING_PORT:-8095}
workers=${WORKERS:-2}
mock=""
stop() { [ -n "$mock" ] && kill "$mock" 2>/dev/null && wait "$mock" 2>/dev/null; mock=""; }
trap stop EXIT

start() {
  "$kapu" mockidp --quiet --addr "$addr" --users testdata/pool.json "$@" >/dev/null &
  mock=$!
  for _ in $(seq 50); do
    curl -sf "http://$addr/" >/dev/null && return 0
    sleep 0.1
  done
  echo "staging: kapu mockidp did not start on $addr" >&2
  exit 2
}

run() {
  local start=$SECONDS
  set +e
  "$kapu" run --base-url "http://$addr" --users testdata/pool.json --workers "$workers" \
    --junit "kapu-results/staging-$1.xml" flows/ >"kapu-results/staging-$1.log" 2>&1
  local code=$?
  set -e
  echo "staging $1: exit $code, $(grep -E '^[0-9]+ passed' "kapu-results/staging-$1.log"), $((SECONDS - start)) s wall, $workers workers"
  return $code
}

mkdir -p kapu-results
start
run first
run second
stop
if [ "${FAULTS:-}" = 1 ]; then
  for f in replay no-checkbox distinct-alerts; do
    start --break "$f"
    if run "break-$f"; then
      echo "staging: the suite passed against a mock broken with --break $f" >&2
      exit 1
    fi
    stop
  done
fi
