#!/usr/bin/env bash
# The Switchboard half of ../shared/bench/compare-reg.sh, plus the guard exemption SIPp needs.
# usage: (in a worktree root) bench/sb-reg.sh OUTDIR RATE...
# SERVE_ARGS are added to switchboard serve; CPUPROF=1 takes a 10 s CPU profile of the server
# 2 s into the first rate's SIPp run (OUTDIR.cpu.pprof; pprof on PPROF_PORT, default 6062).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../shared/bench" && pwd)
OUTDIR=$1; shift
RATES=${*:-2000 4000 6000}
export DURATION=${DURATION:-15} REPEATS=${REPEATS:-1} PASSWORD=${PASSWORD:-Bench-pass-1}
export FIRST_USER=100000 USERS=10000
W=$(mktemp -d); SBPID=
trap '[ -n "$SBPID" ] && kill "$SBPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
go build -o "$W/switchboard" ./cmd/switchboard
python3 - "$W/users.csv" <<'PY'
import os, sys
with open(sys.argv[1], "w") as f:
    f.write("name,email,extension,ext_password\n")
    for u in range(100000, 110000):
        f.write(f"Bench {u},b{u}@bench.test,{u},{os.environ['PASSWORD']}\n")
PY
"$W/switchboard" settings set sip.domain 127.0.0.1 --data "$W/data" >/dev/null
"$W/switchboard" settings set sip.guard.exempt 127.0.0.0/8 --data "$W/data" >/dev/null
"$W/switchboard" user import --data "$W/data" "$W/users.csv" >/dev/null
port=${SB_PORT:-5180}
web=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$W/switchboard" serve --data "$W/data" --sip-addr "127.0.0.1:$port" --web-addr "127.0.0.1:$web" \
  --rtp-ports 41000-41999 --domain 127.0.0.1 --sip-tls-addr off \
  ${CPUPROF:+--pprof-addr "127.0.0.1:${PPROF_PORT:-6062}"} ${SERVE_ARGS:-} >"$W/serve.log" 2>&1 &
SBPID=$!
[ -n "${CPUPROF:-}" ] && ( until pgrep -f "[s]ipp -sf" >/dev/null; do sleep 0.2; done; sleep 2; curl -s "127.0.0.1:${PPROF_PORT:-6062}/debug/pprof/profile?seconds=10" >"$OUTDIR.cpu.pprof" ) &
[ -n "${PERF:-}" ] && ( until pgrep -f "[s]ipp -sf" >/dev/null; do sleep 0.2; done; sleep 2; perf record -F 999 -g -p "$SBPID" -o "$OUTDIR.perf.data" -- sleep 10 >/dev/null 2>&1 ) &
[ -n "${PIDSTAT:-}" ] && { pidstat -u -p "$SBPID" 1 >"$OUTDIR.pidstat" 2>&1 & }
for _ in $(seq 1 100); do grep -qi 'sip listening' "$W/serve.log" && break; sleep 0.2; done
START_KAMAILIO=0 TARGET="127.0.0.1:$port" SERVER_PIDS=$SBPID OUT="$OUTDIR" "$HERE/sipp/run-reg-bench.sh" $RATES >"$OUTDIR.log" 2>&1 || true
kill "$SBPID"; wait "$SBPID" 2>/dev/null || true; SBPID=
cp "$W/serve.log" "$OUTDIR.serve.log"
echo "## switchboard"; cat "$OUTDIR/summary.md" 2>/dev/null || tail -n 5 "$OUTDIR.log"
