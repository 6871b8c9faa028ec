#!/usr/bin/env bash
# usage: sipload-calls.sh TREE RATE DURATION HOLD  — builds switchboard+sipload from TREE, runs
# sipload call at RATE for DURATION with HOLD of media per call, prints sipload's summary and the
# switchboard process's CPU time per call.
set -euo pipefail
TREE=$1 RATE=${2:-100} DUR=${3:-10s} HOLD=${4:-2s}
W=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
(cd "$TREE" && go build -o "$W/switchboard" ./cmd/switchboard && go build -o "$W/sipload" ./cmd/sipload)
port=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
web=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$W/switchboard" settings set sip.domain 127.0.0.1 --data "$W/data" >/dev/null
"$W/switchboard" settings set sip.guard.exempt 127.0.0.0/8 --data "$W/data" >/dev/null
python3 - "$W/users.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("name,email,extension,ext_password\n")
    for u in range(200000, 200400):
        f.write(f"Load {u},l{u}@load.test,{u},Load-Test-pw!\n")
PY
"$W/switchboard" user import --data "$W/data" "$W/users.csv" >/dev/null
"$W/switchboard" serve --data "$W/data" --sip-addr "127.0.0.1:$port" --web-addr "127.0.0.1:$web" \
  --rtp-ports 40000-49999 --domain 127.0.0.1 --log-level warn >"$W/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -qi 'sip listening' "$W/serve.log" && break; sleep 0.2; done
sleep 1
t0=$(awk '{print $14+$15}' /proc/$PID/stat)
"$W/sipload" call --target 127.0.0.1:$port --domain 127.0.0.1 --n 400 --rate $RATE --duration $DUR --hold $HOLD --concurrency 400 | tee "$W/out.txt"
sleep 1
t1=$(awk '{print $14+$15}' /proc/$PID/stat)
tck=$(getconf CLK_TCK)
calls=$(grep -oiE '([0-9]+) (calls )?answered' "$W/out.txt" | head -1 | grep -oE '[0-9]+' || echo 0)
echo "switchboard cpu: $(( (t1-t0)*1000/tck )) ms for answered=$calls"
