#!/usr/bin/env bash
# Smoke-test the frozen app with no Python on PATH: version, check, headless demo, an offscreen
# screenshot of the overview, and the MES stub starting and stopping.
#   installer/build.sh && installer/smoke.sh [APPDIR]     (APPDIR default dist/hmi-station)
set -euo pipefail
cd "$(dirname "$0")/.."
app=$(cd "${1:-dist/hmi-station}" && pwd)
hmi="$app/hmi"
[ -x "$hmi" ] || { echo "smoke: $hmi not found: run installer/build.sh first" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# a PATH with the shell tools this script needs and nothing else: no python anywhere
mkdir "$work/bin"
for tool in sleep head od tr grep cat wc rm mkdir ls; do
    ln -s "$(command -v "$tool")" "$work/bin/$tool"
done
run() { env -i PATH="$work/bin" HOME="$work" QT_QPA_PLATFORM=offscreen \
            HMI_DATA_DIR="$work/data" "$@"; }
# in the background: `run ... &` would fork a subshell, and $! (what we signal) would be that
# subshell, not hmi; a simple command sent to the background is exec'd, so $! is hmi itself
run_bg() { env -i PATH="$work/bin" HOME="$work" QT_QPA_PLATFORM=offscreen \
               HMI_DATA_DIR="$work/data" "$@" & }
if run "$BASH" -c 'command -v python3 || command -v python'; then
    echo "smoke: python is on the sandbox PATH" >&2; exit 1
fi
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }
free_port() { local p; for p in $(seq "$1" $(($1 + 200))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1; done; return 1; }

out=$(run "$hmi" --version)
echo "$out" | head -1 | grep -q '^hmi ' || fail "--version: $out"
for lib in Python Qt PySide6 asyncua pymodbus SQLite; do
    echo "$out" | grep -q "^  $lib " || fail "--version does not name $lib"
done
pass "--version: $(echo "$out" | tr '\n' ' ' | tr -s ' ')"

demo_project="$app/_internal/resources/demo/project.toml"
out=$(run "$hmi" check "$demo_project") || fail "check: $out"
pass "check: $out"

out=$(run "$hmi" demo --headless --for 10 2>&1) || fail "demo --headless: $out"
echo "$out" | grep -q "tags: [1-9][0-9]* good" || fail "demo --headless: no good tags: $out"
pass "demo --headless --for 10: $(echo "$out" | grep 'tags:' | tail -1)"

mb=$(free_port 25020); ua=$(free_port 24840)
run_bg "$hmi" sim --modbus-port "$mb" --opcua-port "$ua" --for 60 > "$work/sim.log" 2>&1
sim=$!
wait_port "$mb" || fail "sim did not open port $mb"
sed -e "s/port = 5020/port = $mb/" -e "s#opc.tcp://127.0.0.1:4840#opc.tcp://127.0.0.1:$ua#" \
    "$demo_project" > "$work/project.toml"
run "$hmi" screenshot "$work/project.toml" --screen overview --after 3 --out "$work/overview.png" \
    > "$work/shot.log" 2>&1 || fail "screenshot: $(cat "$work/shot.log")"
[ "$(head -c 8 "$work/overview.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
    || fail "screenshot is not a PNG"
pass "screenshot --screen overview: $(wc -c < "$work/overview.png") bytes PNG"
kill -TERM "$sim" 2>/dev/null || true
wait "$sim" || fail "sim exit code $? after SIGTERM: $(cat "$work/sim.log")"

port=$(free_port 24850)
run_bg "$hmi" mes-stub --port "$port" --out "$work/mes.jsonl" > "$work/stub.log" 2>&1
stub=$!
wait_port "$port" || fail "mes-stub did not open port $port: $(cat "$work/stub.log")"
kill -TERM "$stub"
wait "$stub" || fail "mes-stub exit code $? after SIGTERM: $(cat "$work/stub.log")"
pass "mes-stub: listened on $port, stopped on SIGTERM"
echo "smoke: all passed ($app, $(du -sh "$app" | cut -f1))"
