#!/usr/bin/env bash
# Alternated pairs: Kamailio + rtpengine, then Switchboard, at one call rate, N times, and the
# ratio of their CPU per call two ways: raw, and per second of SIPp's own CPU in the same run.
# SIPp does the same work in every run, so the second divides out this machine's drift between
# runs (20% and more from one run to the next on a shared 2-CPU VM); compare medians.
# usage (in the worktree root): bench/pairs.sh [N=3] [CPS=200]   env: OUTDIR= (kept runs)
# Each run is bench/sb-calls.sh cps CPS, or ../shared/bench/relay/run-relay-bench.sh cps CPS with
# START_SERVER=1; a run of each takes about a minute and a half.
set -euo pipefail
N=${1:-3}; CPS=${2:-200}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$ROOT/../shared/bench" && pwd)
OUTD=${OUTDIR:-${TMPDIR:-/tmp}/pairs-$(date +%H%M%S)}; mkdir -p "$OUTD"
export PASSWORD=${PASSWORD:-Bench-pass-1} CALLEES=${CALLEES:-4000}
# row prints "server_us_per_call sipp_cpu_s" from a summary table's row for the rate:
# kam_us_per_call + rtpe_us_per_call (Switchboard's run puts its own in kam's column),
# cpu_sipp_uac_s + cpu_sipp_uas_s.
row() { awk -F'|' -v r="$CPS" '$2+0 == r && $3+0 > 0 { print $15 + $16, $17 + $18; exit }' "$1"; }
for i in $(seq 1 "$N"); do
  (cd "${TMPDIR:-/tmp}" && START_SERVER=1 OUT="$OUTD/kam-$i" "$SHARED/relay/run-relay-bench.sh" cps "$CPS") >"$OUTD/kam-$i.txt" 2>&1 || true
  (cd "$ROOT" && SB_PORT=${SB_PORT:-5182} METRICS_PORT=${METRICS_PORT:-9882} OUTDIR="$OUTD/sb-$i" bench/sb-calls.sh cps "$CPS") >"$OUTD/sb-$i.txt" 2>&1 || true
  echo "pair $i: kamailio+rtpengine $(row "$OUTD/kam-$i.txt") switchboard $(row "$OUTD/sb-$i.txt")" >&2
done
python3 - "$OUTD" "$N" "$CPS" <<'PY'
import statistics, sys
outd, n, cps = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def row(path):
    for line in open(path):
        f = [x.strip() for x in line.split('|')]
        if len(f) > 18 and f[1] == cps and f[2].isdigit():
            try:
                return float(f[14]) + float(f[15]), float(f[16]) + float(f[17])
            except ValueError:
                return None
    return None
print(f"| pair | Kamailio + rtpengine, us a call (per SIPp-s) | Switchboard, us a call (per SIPp-s) | ratio raw | ratio per SIPp-s |")
print("|---|---|---|---|---|")
raw, norm = [], []
for i in range(1, n + 1):
    k, s = row(f"{outd}/kam-{i}.txt"), row(f"{outd}/sb-{i}.txt")
    if not k or not s or not k[1] or not s[1]:
        print(f"| {i} | {k} | {s} | - | - |")
        continue
    kn, sn = k[0] / k[1], s[0] / s[1]
    raw.append(s[0] / k[0]); norm.append(sn / kn)
    print(f"| {i} | {k[0]:,.0f} ({kn:,.0f}) | {s[0]:,.0f} ({sn:,.0f}) | {raw[-1]:.2f} | {norm[-1]:.2f} |")
if raw:
    print(f"median ratio at {cps} calls/s: raw {statistics.median(raw):.2f}, per SIPp-second {statistics.median(norm):.2f} ({len(raw)} pairs)")
PY
echo "runs: $OUTD"
