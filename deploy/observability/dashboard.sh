#!/usr/bin/env bash
# One command: the Aspire Dashboard (a real OTLP receiver with a web UI) on 127.0.0.1, and
# pvmd exporting its traces, metrics and logs to it over OTLP/gRPC. Run as root from a clone:
#
#   bash deploy/observability/dashboard.sh                       # plain
#   bash deploy/observability/dashboard.sh --inject-extra-bytes 8   # plus labelled fake mismatches
#
# Any further arguments go to pvmd. Open http://127.0.0.1:18888, then in another shell run
# pvmctl with the two variables this script prints. Ctrl-C stops both.
# Ports: DASHBOARD_PORT (18888), OTLP_GRPC_PORT (4317), OTLP_HTTP_PORT (4318); socket: PVMD_SOCKET.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
  echo "dashboard: pvmd reads other processes' memory: run as root" >&2
  exit 2
fi
ui_port=${DASHBOARD_PORT:-18888}
grpc_port=${OTLP_GRPC_PORT:-4317}
http_port=${OTLP_HTTP_PORT:-4318}
socket=${PVMD_SOCKET:-/tmp/pvmd-observability/pvmd.sock}
logs=$(mktemp -d)

cleanup() {
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "${dashboard_pid:-}" ] && kill "$dashboard_pid" 2>/dev/null && wait "$dashboard_pid" 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "== restoring the dashboard through NuGet"
dashboard=$(bash deploy/observability/restore-dashboard.sh)
echo "== building pvmd and pvmctl"
dotnet build server/Pvmd.Server -c Release -nologo -clp:NoSummary -v:q
dotnet build client/Pvmd.Cli -c Release -nologo -clp:NoSummary -v:q

echo "== starting the dashboard on http://127.0.0.1:$ui_port"
# Unsecured: everything is bound to 127.0.0.1, and the API must answer without a key.
DASHBOARD__FRONTEND__AUTHMODE=Unsecured \
DASHBOARD__OTLP__AUTHMODE=Unsecured \
DASHBOARD__API__AUTHMODE=Unsecured \
DASHBOARD__API__ENABLED=true \
DASHBOARD__OTLP__SUPPRESSUNSECUREDTELEMETRYMESSAGE=true \
ASPNETCORE_URLS="http://127.0.0.1:$ui_port" \
DASHBOARD__OTLP__GRPCENDPOINTURL="http://127.0.0.1:$grpc_port" \
DASHBOARD__OTLP__HTTPENDPOINTURL="http://127.0.0.1:$http_port" \
  "$dashboard" >"$logs/dashboard.log" 2>&1 &
dashboard_pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$ui_port/api/telemetry/traces" >/dev/null 2>&1 && break
  kill -0 "$dashboard_pid" 2>/dev/null || { cat "$logs/dashboard.log" >&2; exit 1; }
  sleep 0.1
done

echo "== starting pvmd on $socket, exporting to the dashboard"
mkdir -p "$(dirname "$socket")"
OTEL_BSP_SCHEDULE_DELAY=500 OTEL_METRIC_EXPORT_INTERVAL=5000 \
  server/Pvmd.Server/bin/Release/net10.0/pvmd --socket "$socket" \
  --otlp-endpoint "http://127.0.0.1:$grpc_port" "$@" &
daemon_pid=$!

cat <<TEXT

Dashboard:  http://127.0.0.1:$ui_port   (traces, structured logs, metrics)
In another shell, pvmctl sends its own client spans to the same trace:

  export PVMD_SOCKET=$socket OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$grpc_port
  pvmctl=$PWD/client/Pvmd.Cli/bin/Release/net10.0/pvmctl
  \$pvmctl maps --pid PID                                       # where its mappings end
  \$pvmctl read --pid PID --address 0x... --length 128 --verify  # across the end of one

With --inject-extra-bytes, a verified read across the end of a mapping shows a mismatch.

Ctrl-C stops the dashboard and pvmd.
TEXT
wait "$daemon_pid"
