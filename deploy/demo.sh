#!/usr/bin/env bash
# The main job, from a fresh clone: build pvmd, start the daemon on a private socket, probe
# this machine's kernel for byte-count mismatches, and read a demo target's memory through
# the daemon. Run as root (the daemon needs CAP_SYS_PTRACE). Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: pvmd reads other processes' memory: run as root" >&2
  exit 2
fi

out=$(mktemp -d)
socket="$out/pvmd.sock"
cleanup() {
  [ -n "${target_pid:-}" ] && kill "$target_pid" 2>/dev/null || true
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

echo "== building"
dotnet build Daemon.sln -c Release -nologo -clp:NoSummary -v:q
pvmd=server/Pvmd.Server/bin/Release/net10.0/pvmd
pvmctl=client/Pvmd.Cli/bin/Release/net10.0/pvmctl
target=tests/Pvmd.TestTarget/bin/Release/net10.0/pvmd-test-target

echo "== starting pvmd on $socket"
"$pvmd" --socket "$socket" 2>"$out/pvmd.log" &
daemon_pid=$!
for _ in $(seq 100); do
  [ -S "$socket" ] && break
  sleep 0.1
done
[ -S "$socket" ] || { cat "$out/pvmd.log" >&2; exit 1; }
export PVMD_SOCKET=$socket

echo "== this machine"
"$pvmctl" platform

echo "== the short-buffer probe (default sweep: 264,192 cases)"
"$pvmctl" probe || [ $? -eq 8 ]  # 8: this kernel showed mismatches: an answer, not a failure

echo "== a demo target"
coproc TARGET { exec "$target"; }
read -r layout <&"${TARGET[0]}"
echo "$layout"
target_pid=$(echo "$layout" | sed -E 's/^\{"pid":([0-9]+),.*/\1/')
address_of() { echo "$layout" | sed -E "s/.*\"$1\":\{\"address\":\"(0x[0-9a-f]+)\".*/\1/"; }
pattern=$(address_of pattern)
hole=$(address_of hole)

echo "== 64 bytes of its pattern"
"$pvmctl" read --pid "$target_pid" --address "$pattern" --length 64

echo "== a read across its unmapped page: the readable bytes, then the hole, then the bytes after it"
# The first lines of each readable stretch, and each hole.
"$pvmctl" read --pid "$target_pid" --address "$hole" --length 12288 | awk '/^---/ { print; n = 0; next } n++ < 2' 
"$pvmctl" read --pid "$target_pid" --address "$hole" --length 12288 --format json | head -c 600
echo
