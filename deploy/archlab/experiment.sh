# The lab's experiment, sourced by lab.sh (`lab.sh run [KERNEL...]`): per kernel, boot the
# guest, then from the host with pvmctl over the forwarded port (https, with the lab's client
# certificate): platform, the full default
# probe sweep (--json), a read and a write --verify into a process of the guest, and compare
# against this host's own daemon on a Unix socket. Everything lands in
# $cache/results/DATE/KERNEL/, and one Markdown table row per kernel in
# $cache/results/DATE/table.md (what RESULTS.md quotes).

# shellcheck shell=bash

compare_sweep=(--op readv --before 0..128 --after 1..64 --misalignment 0..3)

host_build() {
  log "building pvmd and pvmctl for this host"
  dotnet build "$repo/client/Pvmd.Cli" -c Release -nologo -v:q -clp:NoSummary >&2
  dotnet build "$repo/server/Pvmd.Server" -c Release -nologo -v:q -clp:NoSummary >&2
  pvmctl_bin="$repo/client/Pvmd.Cli/bin/Release/net10.0/pvmctl"
  pvmd_bin="$repo/server/Pvmd.Server/bin/Release/net10.0/pvmd"
}

host_daemon_start() {
  host_socket="$work/host/pvmd.sock"
  mkdir -p "$work/host"
  "$pvmd_bin" --socket "$host_socket" 2>"$work/host/pvmd.log" &
  host_pid=$!
  for _ in $(seq 200); do
    [ -S "$host_socket" ] && return 0
    sleep 0.1
  done
  cat "$work/host/pvmd.log" >&2
  die "the host daemon did not start"
}

host_daemon_stop() {
  if [ -n "${host_pid:-}" ]; then
    kill "$host_pid" 2>/dev/null || true
    wait "$host_pid" 2>/dev/null || true
    host_pid=""
  fi
}

# Runs one pvmctl step against the guest, keeping its output, exit code and duration.
step() {
  local name=$1 out=$2
  shift 2
  local t0 rc=0
  t0=$(now)
  "$pvmctl_bin" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
  echo "$rc" >"$out/$name.rc"
  seconds_between "$t0" "$(now)" >"$out/$name.seconds"
  log "  $name: exit $rc in $(cat "$out/$name.seconds") s"
  return 0
}

count_of() {
  jq -r --arg c "$2" '.summary[$c] // 0' "$1"
}

run_kernel() {
  local kernel=$1 results=$2 out started address run
  out="$results/$kernel"
  mkdir -p "$out"
  started=$(cmd_start "$kernel") || return 1
  address=$(sed -n 's/^ARCHLAB_ADDRESS=//p' <<<"$started")
  run=$(sed -n 's/^ARCHLAB_RUN=//p' <<<"$started")
  boot_run=$run
  # The guest daemon's address and the client's mutual TLS switches, for every step.
  local guest=(--url "$address" "${tls_client[@]}")
  cp "$run/timings" "$out/timings"
  cp "$cache/kernels/$kernel/kernel.info" "$out/kernel.info"
  uptime >"$out/load"

  step platform "$out" "${guest[@]}" platform --json
  log "$kernel: the full default sweep (264,192 cases)"
  step probe "$out" "${guest[@]}" probe --json
  tail -n 1 "$out/probe.out" >"$out/summary.json"

  # A process of the guest: init's idle `sleep 2147483647`. Its stack mapping's lowest page
  # is far below anything the sleeping process touches, so writing there is harmless.
  step ps "$out" "${guest[@]}" ps --name sleep --cmdline 2147483647 --json
  local pid stack
  pid=$(jq -r '.processes[0].pid' "$out/ps.out")
  step maps "$out" "${guest[@]}" maps --pid "$pid" --json
  stack=$(jq -r '.regions[] | select(.path == "[stack]") | .start' "$out/maps.out")
  step read-before "$out" "${guest[@]}" read --pid "$pid" --address "$stack" --length 64 --verify
  step write "$out" "${guest[@]}" write --pid "$pid" --address "$stack" --hex 70766d6420617263686c6162 --verify --json
  step read-after "$out" "${guest[@]}" read --pid "$pid" --address "$stack" --length 64 --verify

  log "$kernel: compare with this host's daemon (${compare_sweep[*]})"
  step compare "$out" --socket "$host_socket" "${guest[@]}" compare "${compare_sweep[@]}" --json

  cmd_stop "$run"
  boot_run=""
  cp "$run/console.log" "$out/console.log"
}

table_row() {
  local kernel=$1 dir=$2 s="$2/summary.json" short arch cpu release date
  short=$(($(count_of "$s" SHORT_CLEAN) + $(count_of "$s" SHORT_DIRTY)))
  arch=$(jq -r '.host.arch' "$s")
  release=$(jq -r '.host.kernelRelease' "$s")
  cpu=$(jq -r '.host.cpuModel' "$s")
  date=$(date -u +%Y-%m-%d)
  printf '| %s | %s | %s | yes, qemu %s TCG cortex-a57 | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$arch" "$release" "$cpu" "$(qemu-system-aarch64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')" \
    "$(jq -r '.total' "$s")" "$(count_of "$s" EXACT)" "$(count_of "$s" SHORT_CLEAN)" "$(count_of "$s" SHORT_DIRTY)" \
    "$short" "$(count_of "$s" OVER_REPORT)" "$(count_of "$s" EFAULT_CLEAN)" "$(count_of "$s" EFAULT_DIRTY)" \
    "$(sed -n 's/boot_seconds=//p' "$dir/timings") / $(sed -n 's/daemon_start_seconds=//p' "$dir/timings") / $(cat "$dir/probe.seconds")" \
    "$date"
}

# This machine's own row: native, no boot; the sweep through the host daemon's socket.
host_row() {
  local dir=$1 s="$1/summary.json"
  printf '| %s | %s | %s | no (this host) | %s | %s | %s | %s | %s | %s | %s | %s | - / - / %s | %s |\n' \
    "$(jq -r '.host.arch' "$s")" "$(jq -r '.host.kernelRelease' "$s")" "$(jq -r '.host.cpuModel' "$s")" \
    "$(jq -r '.total' "$s")" "$(count_of "$s" EXACT)" "$(count_of "$s" SHORT_CLEAN)" "$(count_of "$s" SHORT_DIRTY)" \
    "$(($(count_of "$s" SHORT_CLEAN) + $(count_of "$s" SHORT_DIRTY)))" "$(count_of "$s" OVER_REPORT)" \
    "$(count_of "$s" EFAULT_CLEAN)" "$(count_of "$s" EFAULT_DIRTY)" "$(cat "$dir/probe.seconds")" "$(date -u +%Y-%m-%d)"
}

cmd_run() {
  require_root
  local kernels=("$@") results kernel
  [ ${#kernels[@]} -gt 0 ] || kernels=("${all_kernels[@]}")
  cmd_build "${kernels[@]}"
  host_build
  results="$cache/results/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$results"
  trap 'host_daemon_stop; on_exit' EXIT
  host_daemon_start
  "$pvmctl_bin" --socket "$host_socket" platform --json >"$results/host-platform.json"
  # This host's own answer to the same full sweep, for the table.
  mkdir -p "$results/host"
  step probe "$results/host" --socket "$host_socket" probe --json
  tail -n 1 "$results/host/probe.out" >"$results/host/summary.json"
  for kernel in "${kernels[@]}"; do
    log "== $kernel"
    run_kernel "$kernel" "$results"
  done
  host_daemon_stop
  {
    echo '| arch | kernel | CPU model | emulated | cases | EXACT | SHORT_CLEAN | SHORT_DIRTY | short (ret < B) | OVER_REPORT | EFAULT_CLEAN | EFAULT_DIRTY | boot / daemon start / sweep (s) | date |'
    echo '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'
    for kernel in "${kernels[@]}"; do table_row "$kernel" "$results/$kernel"; done
    host_row "$results/host"
  } >"$results/table.md"
  cat "$results/table.md"
  log "results in $results"
}
