#!/usr/bin/env bash
# Takes docs/images/mismatch-trace.png, the picture in docs/observability.md, for real: the
# Aspire Dashboard (restored through NuGet), pvmd with fault injection exporting to it, and
# pvmctl reading a test target across an unmapped page, so that the daemon finds (injected)
# bytes changed past the kernel's count; then headless Chromium (Debian's chromium) opens
# the trace and photographs it with the syscall span's details open. Run as root from a
# clone; installs chromium and python3-websocket with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "screenshots: pvmd reads other processes' memory: run as root" >&2
  exit 2
fi
if ! command -v chromium >/dev/null || ! /usr/bin/python3 -c 'import websocket' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium python3-websocket >/dev/null
fi

ui_port=${DASHBOARD_PORT:-18980}
grpc_port=${OTLP_GRPC_PORT:-18981}
http_port=${OTLP_HTTP_PORT:-18982}
ui="http://127.0.0.1:$ui_port"
out=$(mktemp -d)
cleanup() {
  for pid in ${browser_pid:-} ${target_pid:-} ${daemon_pid:-} ${dashboard_pid:-}; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$out"
}
trap cleanup EXIT

dashboard=$(bash deploy/observability/restore-dashboard.sh)
dotnet build Daemon.sln -c Release -nologo -clp:NoSummary -v:q
pvmd=server/Pvmd.Server/bin/Release/net10.0/pvmd
pvmctl=client/Pvmd.Cli/bin/Release/net10.0/pvmctl
target=tests/Pvmd.TestTarget/bin/Release/net10.0/pvmd-test-target

DASHBOARD__FRONTEND__AUTHMODE=Unsecured DASHBOARD__OTLP__AUTHMODE=Unsecured \
DASHBOARD__API__AUTHMODE=Unsecured DASHBOARD__API__ENABLED=true \
DASHBOARD__OTLP__SUPPRESSUNSECUREDTELEMETRYMESSAGE=true \
ASPNETCORE_URLS="$ui" \
DASHBOARD__OTLP__GRPCENDPOINTURL="http://127.0.0.1:$grpc_port" \
DASHBOARD__OTLP__HTTPENDPOINTURL="http://127.0.0.1:$http_port" \
HOME="$out" "$dashboard" >"$out/dashboard.log" 2>&1 &
dashboard_pid=$!
for _ in $(seq 300); do
  curl -sf "$ui/api/telemetry/traces" >/dev/null 2>&1 && break
  sleep 0.1
done

socket="$out/pvmd.sock"
OTEL_BSP_SCHEDULE_DELAY=100 "$pvmd" --socket "$socket" --otlp-endpoint "http://127.0.0.1:$grpc_port" \
  --inject-extra-bytes 8 2>"$out/pvmd.log" &
daemon_pid=$!
for _ in $(seq 300); do
  [ -S "$socket" ] && break
  sleep 0.1
done

coproc TARGET { "$target"; }
target_pid=$TARGET_PID
read -r layout <&"${TARGET[0]}"
field() { /usr/bin/python3 -c "import json,sys; l=json.loads(sys.argv[1]); print($1)" "$layout"; }
pid=$(field "l['pid']")
pattern=$(field "l['pattern']['address']")
scratch=$(field "l['scratch']['address']")
across=$(field "hex(int(l['hole']['address'], 16) + l['pageSize'] - 64)")

export PVMD_SOCKET=$socket OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$grpc_port"
"$pvmctl" read --pid "$pid" --address "$pattern" --length 64 --verify >/dev/null
"$pvmctl" write --pid "$pid" --address "$scratch" --hex 0102030405060708 --verify >/dev/null
"$pvmctl" read --pid "$pid" --address "$across" --length 128 --verify >/dev/null || [ $? -eq 8 ]

# The trace whose pvmctl span read across the hole, once the daemon's spans are in too.
trace=""
for _ in $(seq 120); do
  trace=$(curl -s "$ui/api/telemetry/traces" | /usr/bin/python3 -c '
import json, sys
spans = [(s, sc["scope"].get("name", "")) for r in json.load(sys.stdin)["data"]["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]]
value = lambda s, k: next((list(a["value"].values())[0] for a in s.get("attributes", []) if a["key"] == k), None)
for s, scope in spans:
    if scope == "Pvmd.Client" and value(s, "pvmd.address") == sys.argv[1]:
        if any(x["traceId"] == s["traceId"] and sc == "Pvmd.Server" for x, sc in spans):
            print(s["traceId"])
' "$across")
  [ -n "$trace" ] && break
  sleep 0.25
done
[ -n "$trace" ] || { echo "screenshots: the mismatch trace never reached the dashboard" >&2; exit 1; }

# Chromium's own --screenshot fires at the load event, before the dashboard (Blazor Server)
# has rendered over its websocket; the DevTools protocol waits for the content instead.
profile="$out/chromium"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1600,1250 --remote-debugging-port=0 about:blank \
  >"$out/chromium.log" 2>&1 &
browser_pid=$!
for _ in $(seq 100); do
  [ -s "$profile/DevToolsActivePort" ] && break
  sleep 0.1
done
mkdir -p docs/images
/usr/bin/python3 docs/cdp-screenshot.py "$(head -n 1 "$profile/DevToolsActivePort")" \
  "$ui/traces/detail/$trace" process_vm_readv process_vm_readv docs/images/mismatch-trace.png
