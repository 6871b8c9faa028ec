#!/usr/bin/env bash
# Switchboard half of ../shared/bench/compare-calls.sh (no Kamailio), plus guard exempt,
# RSS sampling and an optional perf profile of the switchboard process during the window.
# usage (in the worktree root): bench/sb-calls.sh conc 1000   env: RECORD=1 PERF=1 HEAP=1 CPUPROF=1 OUTDIR=
# SERVE_ARGS are added to switchboard serve (e.g. "--gc-percent 100").
# HEAP=1 takes a heap and a goroutine profile of the server inside the window (pprof on PPROF_PORT),
# and a second heap profile 10 s later (heap2.pprof: -base heap.pprof shows what the window allocates).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../shared/bench" && pwd)
MODE=${1:-conc}; shift || true
LEVELS=${*:-1000}
export PASSWORD=${PASSWORD:-Bench-pass-1}
W=$(mktemp -d); SBPID=; SAMP=
OUTD=${OUTDIR:-${TMPDIR:-/tmp}/sb-calls-$(date +%H%M%S)}; mkdir -p "$OUTD"
trap '[ -n "$SAMP" ] && kill "$SAMP" 2>/dev/null; [ -n "$SBPID" ] && kill "$SBPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
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
[ "${RECORD:-0}" = 1 ] && "$W/switchboard" settings set recording.policy all --data "$W/data" >/dev/null
"$W/switchboard" user import --data "$W/data" "$W/users.csv" >/dev/null
port=${SB_PORT:-5080}
web=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
# HEAP and TRACE read the server's pprof endpoint (one flag for either or both)
PPROF=; [ -n "${HEAP:-}${TRACE:-}${CPUPROF:-}" ] && PPROF=1
"$W/switchboard" serve --data "$W/data" --sip-addr "127.0.0.1:$port" --web-addr "127.0.0.1:$web" \
  --rtp-ports 20000-59999 --domain 127.0.0.1 --log-level warn --metrics-addr "127.0.0.1:${METRICS_PORT:-9781}" \
  ${PPROF:+--pprof-addr "127.0.0.1:${PPROF_PORT:-6061}"} ${SERVE_ARGS:-} >"$OUTD/serve.log" 2>&1 &
SBPID=$!
for _ in $(seq 1 100); do grep -qi 'sip listening' "$OUTD/serve.log" && break; kill -0 $SBPID || break; sleep 0.2; done
sleep 1
# RSS (kB) and thread count every second
( while kill -0 $SBPID 2>/dev/null; do echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$SBPID/status) $(ls /proc/$SBPID/task | wc -l) $(curl -s 127.0.0.1:${METRICS_PORT:-9781}/metrics | awk '/^go_memstats_heap_alloc_bytes |^go_memstats_stack_inuse_bytes |^go_goroutines |^go_memstats_heap_inuse_bytes /{printf "%s=%d ", $1, $2}')"; sleep 1; done ) >"$OUTD/rss.txt" 2>/dev/null &
SAMP=$!
if [ "${PERF:-0}" = 1 ]; then
  # conc: all calls up after lvl/200+2.5 s; profile 10 s inside the window
  PERFJOB=1; ( for _ in $(seq 1 600); do pgrep -f "[u]ac_rtp.xml.*-p ${UAC_PORT:-5061}" >/dev/null && break; sleep 0.1; done
    sleep $(( ${LEVELS%% *} / 200 + 5 )); perf record ${PERF_ARGS:--F 499 -g} -p $SBPID -o "$OUTD/perf.data" -- sleep 10 >/dev/null 2>&1 ) &
fi
if [ "${TRACE:-0}" = 1 ]; then
  # a runtime trace of TRACE_SECONDS (2) from TRACE_AT s after SIPp's caller starts (go tool trace trace.out)
  ( for _ in $(seq 1 600); do pgrep -f "[u]ac_rtp.xml.*-p ${UAC_PORT:-5061}" >/dev/null && break; sleep 0.1; done
    sleep ${TRACE_AT:-$(( ${LEVELS%% *} / 200 + 5 ))}
    curl -s "127.0.0.1:${PPROF_PORT:-6061}/debug/pprof/trace?seconds=${TRACE_SECONDS:-2}" >"$OUTD/trace.out" ) &
fi
if [ "${CPUPROF:-0}" = 1 ]; then
  # a 10 s CPU profile inside the window (go tool pprof cpu.pprof; tags: the call side's label)
  ( for _ in $(seq 1 600); do pgrep -f "[u]ac_rtp.xml.*-p ${UAC_PORT:-5061}" >/dev/null && break; sleep 0.1; done
    sleep $(( ${LEVELS%% *} / 200 + 5 ))
    curl -s "127.0.0.1:${PPROF_PORT:-6061}/debug/pprof/profile?seconds=10" >"$OUTD/cpu.pprof" ) &
fi
if [ "${HEAP:-0}" = 1 ]; then
  ( for _ in $(seq 1 600); do pgrep -f "[u]ac_rtp.xml.*-p ${UAC_PORT:-5061}" >/dev/null && break; sleep 0.1; done
    sleep $(( ${LEVELS%% *} / 200 + 5 ))
    curl -s "127.0.0.1:${PPROF_PORT:-6061}/debug/pprof/heap?gc=1" >"$OUTD/heap.pprof"
    curl -s "127.0.0.1:${PPROF_PORT:-6061}/debug/pprof/goroutine?debug=1" >"$OUTD/goroutines.txt"
    sleep 10; curl -s "127.0.0.1:${PPROF_PORT:-6061}/debug/pprof/heap?gc=1" >"$OUTD/heap2.pprof" ) &
fi
export CALLEES=${CALLEES:-4000} QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-3}
START_SERVER=0 TARGET="127.0.0.1:$port" SERVER_PIDS=$SBPID RELAY_PIDS= RTPENGINE_CLI= OUT="$W/sb" \
  "$HERE/relay/run-relay-bench.sh" "$MODE" $LEVELS >"$W/sb.log" 2>&1 || true
[ -n "${PERFJOB:-}" ] && wait %?perf 2>/dev/null; sleep 1
# the relay's own count of what it received, forwarded and dropped (and why)
curl -s "127.0.0.1:${METRICS_PORT:-9781}/metrics" | grep '^switchboard_rtp_relay' >"$OUTD/relay.txt" || true
# the PBX's own share of the setups (switchboard_call_setup_delay_seconds), for telling it from SIPp's queues
curl -s "127.0.0.1:${METRICS_PORT:-9781}/metrics" | grep '^switchboard_call_setup_delay' >"$OUTD/setup.txt" || true
# the server's context switches over its life (all threads): voluntary (a thread slept) and not
awk '/^voluntary_ctxt_switches/{v+=$2} /^nonvoluntary_ctxt_switches/{n+=$2} END{print "voluntary", v, "nonvoluntary", n}' /proc/$SBPID/task/*/status >"$OUTD/ctxt.txt" 2>/dev/null || true
kill "$SBPID"; wait "$SBPID" 2>/dev/null || true; SBPID=
[ "${RECORD:-0}" = 1 ] && du -sh "$W/data/recordings" 2>/dev/null | sed 's/^/recordings: /'
echo "## switchboard"; cat "$W/sb/summary.md" 2>/dev/null || tail -n 8 "$W/sb.log"
cp -r "$W/sb" "$OUTD/sb"; cp "$W/switchboard" "$OUTD/switchboard.bin"
echo "## relay counters"; cat "$OUTD/relay.txt"
echo "## the PBX's share of setups, whole run (from its buckets: the bound at or above the quantile)"
python3 - "$OUTD/setup.txt" <<'PY'
import re, sys
b = {}
for line in open(sys.argv[1]):
    m = re.match(r'switchboard_call_setup_delay_seconds_bucket\{step="(\w+)",le="([^"]+)"\} (\S+)', line)
    if m:
        b.setdefault(m[1], []).append((float(m[2]), float(m[3])))
for step, bs in sorted(b.items()):
    bs.sort()
    n = bs[-1][1]
    q = lambda p: next((f"{le * 1000:g}" for le, c in bs if c >= p * n), "-")
    print(f"{step}: {int(n)} calls, p50 <= {q(0.5)} ms, p90 <= {q(0.9)} ms, p99 <= {q(0.99)} ms, p99.9 <= {q(0.999)} ms")
PY
echo "## context switches (server, whole run)"; cat "$OUTD/ctxt.txt"
echo "out: $OUTD"
