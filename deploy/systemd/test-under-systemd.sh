#!/usr/bin/env bash
# Runs deploy/systemd/pvmd.service under a real systemd, on a host whose PID 1 is not systemd:
# a Debian rootfs (debootstrap --variant=minbase with systemd, from the host's own apt source)
# becomes a podman container with systemd as PID 1 and CAP_SYS_PTRACE in its bounding set. The
# unit, the sysusers file and the published daemon go in; the service starts; from inside, the
# script checks the daemon's user and capability sets and uses it with pvmctl (platform, maps,
# read and a reduced probe) on a process in the container.
#
#   sudo deploy/systemd/test-under-systemd.sh DAEMON_DIR PVMCTL_DIR
#
# DAEMON_DIR: the daemon published self-contained for this host (build-images.sh leaves one in
# deploy/container/.cache/context/publish/linux-amd64); PVMCTL_DIR: pvmctl's build output
# (framework-dependent; the host's .NET is mounted in to run it). Installs debootstrap, podman
# and runc through apt when missing. The rootfs is cached in deploy/container/.cache.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
daemon_dir=$(cd "${1:?usage: test-under-systemd.sh DAEMON_DIR PVMCTL_DIR}" && pwd)
pvmctl_dir=$(cd "${2:?usage: test-under-systemd.sh DAEMON_DIR PVMCTL_DIR}" && pwd)
cache=${PVMD_IMAGE_CACHE:-$repo/deploy/container/.cache}/systemd-test
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
name=pvmd-systemd-test-$$

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'test-under-systemd: %s\n' "$*" >&2; exit 1; }
podman() { command podman --runtime runc --cgroup-manager cgroupfs "$@"; }
inside() { timeout 180 podman exec "$name" sh -c "$1"; }

[ "$(id -u)" -eq 0 ] || die "run as root"
[ -x "$daemon_dir/pvmd" ] || die "no pvmd in $daemon_dir"
[ -f "$pvmctl_dir/pvmctl.dll" ] || die "no pvmctl.dll in $pvmctl_dir"
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} through apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The host's suite and its Debian mirror, read from its own apt configuration.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "no VERSION_CODENAME in /etc/os-release"
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk -v suite="$suite" '
    /^URIs:/ { uris = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
    /^$/ { if (hit && uris) { print uris; exit } uris = ""; hit = 0 }
    END { if (hit && uris) print uris }' | head -n 1
)
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk -v suite="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($(i + 1) == suite && $i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || die "no apt source for $suite on this host"

image=localhost/pvmd-systemd-test:$suite
if ! podman image exists "$image"; then
  mkdir -p "$cache"
  if [ ! -s "$cache/rootfs-$suite.tar" ]; then
    log "debootstrap $suite (minbase + systemd)"
    rm -rf "$cache/rootfs"
    timeout 1800 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$suite" "$cache/rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
    tar -C "$cache/rootfs" -cf "$cache/rootfs-$suite.tar" .
    rm -rf "$cache/rootfs"
  fi
  log "importing $image"
  podman import --quiet "$cache/rootfs-$suite.tar" "$image" >/dev/null
fi

cleanup() { podman rm --force --time 2 "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
log "starting systemd in $name"
# Container defaults plus SYS_PTRACE, so the unit's bounding set can keep it; limits below the
# host's hard limits, which podman's defaults may exceed.
podman run --detach --name "$name" --systemd=always --network none --cap-add SYS_PTRACE \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  --volume "$daemon_dir:/opt/pvmd:ro" --volume "$pvmctl_dir:/opt/pvmctl:ro" --volume "$dotnet_root:/opt/dotnet:ro" \
  "$image" /sbin/init >/dev/null
for _ in $(seq 60); do
  state=$(timeout 10 podman exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done
case "$state" in running|degraded) ;; *) die "systemd did not come up (state '$state')" ;; esac

podman cp "$repo/deploy/systemd/pvmd.service" "$name:/etc/systemd/system/pvmd.service"
podman cp "$repo/deploy/systemd/pvmd.sysusers.conf" "$name:/usr/lib/sysusers.d/pvmd.conf"
log "systemctl start pvmd"
inside 'systemd-sysusers && systemctl daemon-reload && systemctl start pvmd' \
  || { inside 'journalctl -u pvmd --no-pager | tail -n 30' >&2 || true; die "pvmd.service did not start"; }

# Type=notify: 'active' only after READY=1, which the daemon sends once its socket listens.
[ "$(inside 'systemctl is-active pvmd')" = active ] || die "pvmd.service is not active"
inside 'test -S /run/pvmd/pvmd.sock' || die "no socket at /run/pvmd/pvmd.sock"

status=$(inside 'grep -E "^(Uid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):" /proc/$(systemctl show -p MainPID --value pvmd)/status')
printf '%s\n' "$status" >&2
uid=$(inside 'id -u pvmd')
printf '%s\n' "$status" | grep -Eq "^Uid:\s+$uid\s" || die "the daemon does not run as user pvmd ($uid)"
for set in CapEff CapPrm CapBnd CapAmb; do
  printf '%s\n' "$status" | grep -Eq "^$set:\s+0000000000080000$" || die "$set is not CAP_SYS_PTRACE alone"
done
printf '%s\n' "$status" | grep -Eq '^NoNewPrivs:\s+1$' || die "NoNewPrivs is not set"

log "pvmctl against the service"
pvmctl='PVMD_SOCKET=/run/pvmd/pvmd.sock DOTNET_ROOT=/opt/dotnet /opt/dotnet/dotnet /opt/pvmctl/pvmctl.dll'
inside "$pvmctl platform --json" | grep -q '"hasCapSysPtrace":true' || die "pvmctl platform: the daemon does not hold CAP_SYS_PTRACE"
# A process of another user (root) than the daemon's: only CAP_SYS_PTRACE lets it in.
inside "sleep 600 & target=\$!; start=\$($pvmctl maps --pid \$target --json | grep -o '\"start\":\"0x[0-9a-f]*\"' | head -n 1 | cut -d'\"' -f4);
  $pvmctl read --pid \$target --address \$start --length 16 | grep -q '7f45 4c46'; rc=\$?; kill \$target; exit \$rc" \
  || die "pvmctl read of a root process through the service failed"
# The probe re-executes the daemon as its scratch child: exec, fork and the syscall filter.
inside "$pvmctl probe --before 0..8 --after 1..4 --misalignment 0..1 >/dev/null; test \$? -eq 0 -o \$? -eq 8" \
  || die "pvmctl probe through the service failed"

inside 'systemctl stop pvmd && ! test -e /run/pvmd/pvmd.sock' || die "pvmd.service did not stop cleanly"
echo "test-under-systemd: ok"
