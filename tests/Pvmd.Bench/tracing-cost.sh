#!/usr/bin/env bash
# The cost of tracing on a small read, measured: starts the Aspire Dashboard (restored through
# NuGet) as a real OTLP receiver on 127.0.0.1, builds pvmd and pvmd-bench (Release), and runs
# 64-byte ReadRemote round trips against a daemon with telemetry off and one exporting traces,
# metrics and logs to the dashboard, in interleaved rounds of the same run; prints the median
# and p99 per configuration (pvmd-bench's "tracing" mode). Run as root.
# Arguments: [ROUNDS] [CALLS_PER_ROUND] (20, 250).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tracing-cost: pvmd reads other processes' memory: run as root" >&2
  exit 2
fi
ui_port=${DASHBOARD_PORT:-18990}
grpc_port=${OTLP_GRPC_PORT:-18991}
http_port=${OTLP_HTTP_PORT:-18992}
out=$(mktemp -d)
cleanup() {
  [ -n "${dashboard_pid:-}" ] && kill "$dashboard_pid" 2>/dev/null && wait "$dashboard_pid" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

dashboard=$(bash deploy/observability/restore-dashboard.sh)
dotnet build server/Pvmd.Server -c Release -nologo -clp:NoSummary -v:q
dotnet build tests/Pvmd.Bench -c Release -nologo -clp:NoSummary -v:q

DASHBOARD__FRONTEND__AUTHMODE=Unsecured DASHBOARD__OTLP__AUTHMODE=Unsecured \
DASHBOARD__API__AUTHMODE=Unsecured DASHBOARD__API__ENABLED=true \
ASPNETCORE_URLS="http://127.0.0.1:$ui_port" \
DASHBOARD__OTLP__GRPCENDPOINTURL="http://127.0.0.1:$grpc_port" \
DASHBOARD__OTLP__HTTPENDPOINTURL="http://127.0.0.1:$http_port" \
HOME="$out" "$dashboard" >"$out/dashboard.log" 2>&1 &
dashboard_pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$ui_port/api/telemetry/traces" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
tests/Pvmd.Bench/bin/Release/net10.0/pvmd-bench tracing server/Pvmd.Server/bin/Release/net10.0/pvmd \
  "http://127.0.0.1:$grpc_port" "${1:-20}" "${2:-250}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
traces=$(curl -s "http://127.0.0.1:$ui_port/api/telemetry/traces" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["totalCount"])')
echo "traces the dashboard received: $traces"
