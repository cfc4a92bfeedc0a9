#!/usr/bin/env bash
# Runs every test of pvmd: unit tests of the engine and integration tests against the real
# daemon, real target processes and the real CLI. Needs root (or CAP_SYS_PTRACE) and the
# .NET SDK; installs nothing else. Prints "N passed, N failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "run-tests: the integration tests read other processes' memory: run as root" >&2
  exit 2
fi

configuration=${CONFIGURATION:-Release}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build Daemon.sln -c "$configuration" -nologo -clp:NoSummary -v:q
status=0
dotnet test Daemon.sln -c "$configuration" --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --results-directory "$results" "$@" || status=$?

# One closing line that any CI reads: counts from the TRX summary.
trx=$(find "$results" -name '*.trx' | head -n 1)
if [ -n "$trx" ]; then
  passed=$(grep -o 'passed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  failed=$(grep -o 'failed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  echo "${passed:-0} passed, ${failed:-0} failed"
fi
exit $status
