#!/usr/bin/env bash
# The architecture lab: Debian's own arm64 kernels (5.10, 6.1, 6.12) booted under qemu-system
# software emulation (TCG) on this x86_64 machine, with the real pvmd arm64 build inside and
# its gRPC port forwarded to 127.0.0.1, so that the host's pvmctl asks a real arm64 kernel the
# short-copy question over mutual TLS, as it would ask a remote daemon. README.md beside this
# file says why it is built this way.
#
#   lab.sh fetch [KERNEL...]      install qemu & co through apt, download the kernels and the
#                                 arm64 userland by package name (cached)
#   lab.sh build [KERNEL...]      make the lab's certificates (once per cache), publish pvmd
#                                 for linux-arm64 and build each guest initramfs
#   lab.sh start KERNEL           boot a guest in the background; prints ARCHLAB_ADDRESS=,
#                                 ARCHLAB_TLS_CERT=, ARCHLAB_TLS_KEY=, ARCHLAB_TLS_CA= (the
#                                 client's mutual TLS files) and ARCHLAB_RUN= once the daemon
#                                 answers
#   lab.sh stop RUN               power the guest off (qemu killed if it does not obey)
#   lab.sh boot KERNEL [-- CMD]   start, run CMD with those ARCHLAB_* variables set, stop (even
#                                 on failure)
#   lab.sh run [KERNEL...]        the experiment: full probe sweep, read, write --verify and
#                                 compare against the host's daemon, per kernel
#   lab.sh clean [--apt]          remove the cache (and with --apt the extra apt source)
#
# KERNEL is 5.10, 6.1 or 6.12 (default: all three). Run as root. Environment:
#   ARCHLAB_CACHE    cache directory (default /var/cache/pvmd-archlab; never in git)
#   ARCHLAB_TIMEOUT  seconds a guest may live before it powers itself off (default 3600)
#   ARCHLAB_MEMORY   guest memory in MiB (default 2048)
#   ARCHLAB_READY_TIMEOUT  seconds `start` waits for the daemon to answer (default 600: a boot
#                    takes 1-2 min under emulation, several on a machine busy with builds)
#   ARCHLAB_OTLP     OTLP endpoint handed to the guest daemon as OTEL_EXPORTER_OTLP_ENDPOINT
#                    (default: none); the host is 10.0.2.2 there, e.g. http://10.0.2.2:4317
#   ARCHLAB_OTLP_PROTOCOL  grpc (default) or http/protobuf
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ARCHLAB_CACHE:-/var/cache/pvmd-archlab}
guest_timeout=${ARCHLAB_TIMEOUT:-3600}
guest_memory=${ARCHLAB_MEMORY:-2048}
ready_timeout=${ARCHLAB_READY_TIMEOUT:-600}
guest_otlp=${ARCHLAB_OTLP:-}
guest_otlp_protocol=${ARCHLAB_OTLP_PROTOCOL:-grpc}
guest_port=50051
tls="$cache/tls"

# Each kernel line of the lab and the Debian suite that carries it.
all_kernels=(5.10 6.1 6.12)
declare -A suite_of=([5.10]=bullseye [6.1]=bookworm [6.12]=trixie)

# The modules the guest network needs (virtio-net on PCI, and on MMIO in case); their
# dependencies (virtio, virtio_ring, failover, net_failover, ...) come from modules.dep.
net_modules=(virtio_pci virtio_mmio virtio_net)

apt_source=/etc/apt/sources.list.d/pvmd-archlab.sources
apt_pin=/etc/apt/preferences.d/pvmd-archlab

log() { printf 'archlab: %s\n' "$*" >&2; }
die() { printf 'archlab: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Temporary trees (extracted packages, initramfs staging) live under this process's own
# directory, removed on exit together with a guest that `boot` started.
work="$cache/tmp.$$"
boot_run=""
scratch_dir() {
  mkdir -p "$work"
  mktemp -d "$work/XXXXXX"
}
on_exit() {
  if [ -n "$boot_run" ]; then
    cmd_stop "$boot_run" || true
  fi
  # A subshell ($(cmd_start ...)) shares $$ and so $work: only the main shell removes it.
  if [ "$BASHPID" = "$$" ]; then
    rm -rf "$work"
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root: apt, mknod for the initramfs, and the host daemon need it"
}

check_kernel() {
  [ -n "${suite_of[$1]:-}" ] || die "unknown kernel '$1' (known: ${all_kernels[*]})"
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# --- fetch -------------------------------------------------------------------------------

install_host_tools() {
  local missing=()
  command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || missing+=(kmod)
  command -v curl >/dev/null || missing+=(curl)
  command -v xz >/dev/null || missing+=(xz-utils)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v ss >/dev/null || missing+=(iproute2)
  command -v jq >/dev/null || missing+=(jq)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_get update -qq || apt_get update
    apt_get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Prints "URI<TAB>SIGNED-BY<TAB>ARCHITECTURES" of the machine's own Debian source for its
# release (main component), from deb822 .sources files or one-line sources.list entries.
host_debian_source() {
  local codename=$1 file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] && [ "$file" != "$apt_source" ] || continue
    awk -v want="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && (" " comps " ") ~ / main /) {
          split(uris, u, " "); printf "%s\t%s\t%s\n", u[1], signed, arches; found = 1; exit
        }
        types = suites = comps = uris = signed = arches = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/^[^:]*:[ \t]*/, "") }
      key == "types:" { types = $0 } key == "uris:" { uris = $0 } key == "suites:" { suites = $0 }
      key == "components:" { comps = $0 } key == "signed-by:" { signed = $0 }
      key == "architectures:" { arches = $0 }
      END { if (!found) flush() }' "$file" | head -n 1
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v want="$codename" '
      $1 != "deb" { next }
      {
        opts = ""; i = 2
        if ($2 ~ /^\[/) { while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ } }
        uri = $i; suite = $(i + 1); comps = ""
        for (j = i + 2; j <= NF; j++) { comps = comps " " $j }
        if (suite != want || (comps " ") !~ / main /) { next }
        signed = arches = ""
        if (match(opts, /signed-by=[^ \]]*/)) { signed = substr(opts, RSTART + 10, RLENGTH - 10) }
        if (match(opts, /arch=[^ \]]*/)) { arches = substr(opts, RSTART + 5, RLENGTH - 5); gsub(",", " ", arches) }
        printf "%s\t%s\t%s\n", uri, signed, arches; exit
      }' "$file"
  done
}

# Adds arm64 to dpkg and the other releases' suites as an arm64-only apt source with the
# same URI as the machine's own Debian source, pinned to priority 1 so that nothing of the
# host is ever upgraded from them. Runs apt-get update only when that changed something.
setup_apt() {
  local codename source uri signed arches suites=() kernel suite changed=0
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot tell this machine's Debian release from /etc/os-release"
  source=$(host_debian_source "$codename" | head -n 1)
  [ -n "$source" ] || die "no Debian source for '$codename' (component main) in /etc/apt: cannot derive the lab's"
  IFS=$'\t' read -r uri signed arches <<<"$source"

  if ! dpkg --print-foreign-architectures | grep -qx arm64 && [ "$(dpkg --print-architecture)" != arm64 ]; then
    log "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    changed=1
  fi
  for kernel in "${all_kernels[@]}"; do
    suite=${suite_of[$kernel]}
    # The host's own release comes from its own source, unless that one excludes arm64.
    if [ "$suite" = "$codename" ] && { [ -z "$arches" ] || [[ " $arches " == *" arm64 "* ]]; }; then
      continue
    fi
    [[ " ${suites[*]} " == *" $suite "* ]] || suites+=("$suite")
  done

  local wanted_source wanted_pin=""
  wanted_source="# Written by pvmd's deploy/archlab/lab.sh: the other Debian releases' arm64 packages
# (kernels), from the same URI as this machine's own Debian source. Pinned to priority 1 in
# $apt_pin. Remove both with: deploy/archlab/lab.sh clean --apt
Types: deb
URIs: $uri
Suites: ${suites[*]}
Components: main
Architectures: arm64"
  [ -n "$signed" ] && wanted_source+=$'\n'"Signed-By: $signed"
  for suite in "${suites[@]}"; do
    [ "$suite" = "$codename" ] && continue
    wanted_pin+="Package: *
Pin: release n=$suite
Pin-Priority: 1

"
  done
  if [ "$(cat "$apt_source" 2>/dev/null)" != "$wanted_source" ]; then
    log "writing $apt_source (suites: ${suites[*]}; URI from the machine's own source)"
    printf '%s\n' "$wanted_source" >"$apt_source"
    changed=1
  fi
  if [ "$(cat "$apt_pin" 2>/dev/null)" != "${wanted_pin%$'\n'}" ]; then
    printf '%s' "${wanted_pin%$'\n'}" >"$apt_pin"
    changed=1
  fi
  if [ "$changed" = 1 ] || ! apt-cache show linux-image-arm64:arm64 >/dev/null 2>&1; then
    log "apt-get update"
    apt_get update -qq || apt_get update
  fi
}

# apt-get download into the cache (as root, apt warns that it cannot sandbox: harmless).
download() {
  mkdir -p "$cache/debs"
  (cd "$cache/debs" && apt_get download -qq "$@" 2>&1 | grep -v 'unsandboxed' >&2 || true)
}

# The newest linux-image-*-arm64 package of the kernel's suite, through the metapackage
# linux-image-arm64: prints "PACKAGE VERSION".
resolve_kernel_package() {
  local suite=$1 meta_version depends
  meta_version=$(apt-cache madison linux-image-arm64:arm64 |
    awk -F'|' -v s="$suite" '{ gsub(/ /, "", $2) } $3 ~ (" " s "/main arm64 ") { print $2; exit }')
  [ -n "$meta_version" ] || die "apt knows no linux-image-arm64 in $suite (arm64): check $apt_source and run apt-get update"
  depends=$(apt-cache show "linux-image-arm64:arm64=$meta_version" | sed -n 's/^Depends: //p' | head -n 1)
  echo "$depends" | tr ',' '\n' | sed -nE 's/^ *(linux-image-[^ ]+-arm64) \(= ([^)]+)\).*/\1 \2/p' | head -n 1
}

fetch_kernel() {
  local kernel=$1 dir="$cache/kernels/$1" suite package version deb root kver ko
  [ -f "$dir/vmlinuz" ] && [ -f "$dir/modules.list" ] && return 0
  suite=${suite_of[$kernel]}
  read -r package version <<<"$(resolve_kernel_package "$suite")"
  [ -n "$package" ] || die "cannot resolve the $suite arm64 kernel package"
  log "$kernel: $package $version ($suite)"
  deb=$(ls "$cache/debs/${package}_${version//:/%3a}_arm64.deb" 2>/dev/null || true)
  if [ -z "$deb" ]; then
    download "$package:arm64=$version"
    deb=$(ls "$cache/debs/${package}_${version//:/%3a}_arm64.deb")
  fi

  root=$(scratch_dir)
  dpkg-deb -x "$deb" "$root"
  # Debian 13 ships modules under /usr/lib; depmod -b looks under lib/.
  if [ -d "$root/usr/lib/modules" ] && [ ! -d "$root/lib/modules" ]; then
    mkdir -p "$root/lib" && mv "$root/usr/lib/modules" "$root/lib/modules"
  fi
  kver=$(ls "$root/lib/modules")
  local depmod_bin
  depmod_bin=$(command -v depmod || echo /usr/sbin/depmod)
  "$depmod_bin" -b "$root" "$kver"

  rm -rf "$dir" && mkdir -p "$dir/modules"
  cp "$root/boot/vmlinuz-$kver" "$dir/vmlinuz"
  cp "$root/boot/config-$kver" "$dir/config"
  grep -qx 'CONFIG_CROSS_MEMORY_ATTACH=y' "$dir/config" ||
    die "$kernel: $kver is built without CROSS_MEMORY_ATTACH: process_vm_* would be missing"

  # Load order: each wanted module's dependencies (modules.dep lists them nearest first,
  # so reversed), then the module; built-in ones need nothing.
  local order=() module line deps dep name
  : >"$dir/builtin.list"
  for module in "${net_modules[@]}"; do
    if grep -qE "/${module}\.ko$" "$root/lib/modules/$kver/modules.builtin"; then
      echo "$module" >>"$dir/builtin.list"
      continue
    fi
    line=$(grep -E "/${module}\.ko(\.xz|\.zst|\.gz)?:" "$root/lib/modules/$kver/modules.dep") ||
      die "$kernel: $module is neither built in nor a module of $kver"
    deps=(${line#*:})
    for ((i = ${#deps[@]} - 1; i >= 0; i--)); do order+=("${deps[i]}"); done
    order+=("${line%%:*}")
  done
  for ko in "${order[@]}"; do
    name=$(basename "$ko"); name=${name%%.ko*}
    grep -qx "$name" "$dir/modules.list" 2>/dev/null && continue
    case $ko in
      *.xz) xz -dc "$root/lib/modules/$kver/$ko" >"$dir/modules/$name.ko" ;;
      *.zst) zstd -qdc "$root/lib/modules/$kver/$ko" >"$dir/modules/$name.ko" ;;
      *.gz) gzip -dc "$root/lib/modules/$kver/$ko" >"$dir/modules/$name.ko" ;;
      *) cp "$root/lib/modules/$kver/$ko" "$dir/modules/$name.ko" ;;
    esac
    echo "$name" >>"$dir/modules.list"
  done
  touch "$dir/modules.list"
  printf '%s\n' "package=$package" "version=$version" "suite=$suite" "release=$kver" >"$dir/kernel.info"
  log "$kernel: $kver; modules: $(tr '\n' ' ' <"$dir/modules.list")built in: $(tr '\n' ' ' <"$dir/builtin.list")"
}

# Debian's arm64 C runtime, OpenSSL and a static busybox for the guest: what the
# self-contained .NET app needs (with InvariantGlobalization; OpenSSL for its TLS listener)
# and a shell for /init. From the host's release.
userland_packages=(libc6 libstdc++6 libgcc-s1 libssl3 busybox-static)

fetch_userland() {
  local dir="$cache/userland" deb package
  [ -x "$dir/bin/busybox" ] && [ -e "$dir/lib/ld-linux-aarch64.so.1" ] &&
    [ -e "$dir/usr/lib/aarch64-linux-gnu/libssl.so.3" ] && return 0
  log "fetching the arm64 userland: ${userland_packages[*]}"
  for package in "${userland_packages[@]}"; do rm -f "$cache/debs/${package}_"*_arm64.deb; done
  download "${userland_packages[@]/%/:arm64}"
  rm -rf "$dir" && mkdir -p "$dir"
  for package in "${userland_packages[@]}"; do
    deb=$(ls "$cache/debs/${package}_"*_arm64.deb 2>/dev/null) || die "apt-get download $package:arm64 failed"
    dpkg-deb -x "$deb" "$dir"
  done
  # Docs, locales and iconv modules are not needed by the daemon.
  rm -rf "$dir/usr/share" "$dir/usr/lib/aarch64-linux-gnu/gconv" "$dir/usr/libexec" "$dir/sbin" "$dir/usr/bin"
  [ -x "$dir/bin/busybox" ] || die "busybox-static:arm64 did not provide bin/busybox"
}

cmd_fetch() {
  require_root
  local kernels=("$@")
  [ ${#kernels[@]} -gt 0 ] || kernels=("${all_kernels[@]}")
  for kernel in "${kernels[@]}"; do check_kernel "$kernel"; done
  install_host_tools
  local need_apt=0
  for kernel in "${kernels[@]}"; do
    [ -f "$cache/kernels/$kernel/modules.list" ] || need_apt=1
  done
  [ -e "$cache/userland/usr/lib/aarch64-linux-gnu/libssl.so.3" ] || need_apt=1
  [ "$need_apt" = 1 ] && setup_apt
  for kernel in "${kernels[@]}"; do fetch_kernel "$kernel"; done
  fetch_userland
}

# --- certificates ------------------------------------------------------------------------

# The guest daemon listens on TCP, which it allows only with mutual TLS (docs/security.md):
# the lab has its own CA, a server certificate for the address the host reaches the guest at
# (127.0.0.1, the forwarded port) and one client certificate, whose subject policy.yaml grants
# what the lab does. Made once per cache, with nothing of them in git, and made anew (all
# three) when one is missing or expires within a week.
tls_days=90
tls_client_subject="/CN=pvmd archlab client"

tls_valid() {
  local name
  for name in ca server client; do
    [ -s "$tls/$name.key" ] && openssl x509 -in "$tls/$name.pem" -noout -checkend 604800 >/dev/null 2>&1 || return 1
  done
}

make_tls() {
  tls_valid && return 0
  log "making the lab's CA, server and client certificates in $tls (valid $tls_days days)"
  local dir="$tls.tmp" errors ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  rm -rf "$dir" && mkdir -p "$dir" && chmod 0700 "$dir"
  # -e does not apply inside the || below: every step is chained with &&.
  errors=$({
    cd "$dir" && umask 077 &&
      openssl req -x509 "${ec[@]}" -days "$tls_days" -subj "/CN=pvmd archlab CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout ca.key -out ca.pem &&
      openssl req "${ec[@]}" -subj "/CN=pvmd archlab guest" -keyout server.key -out server.csr &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days "$tls_days" -out server.pem \
        -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n') &&
      openssl req "${ec[@]}" -subj "$tls_client_subject" -keyout client.key -out client.csr &&
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -days "$tls_days" -out client.pem \
        -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n') &&
      rm -f ./*.csr ./*.srl && chmod 0644 ./*.pem
  } 2>&1) || die "openssl failed to make the lab's certificates: $errors"
  rm -rf "$tls" && mv "$dir" "$tls"
}

# The client's switches for pvmctl against a guest.
tls_client=(--tls-cert "$tls/client.pem" --tls-key "$tls/client.key" --tls-ca "$tls/ca.pem")

# --- build -------------------------------------------------------------------------------

# A build is keyed by everything that goes into the guest but the kernel: the daemon's
# sources, the publish flags and /init. Different clones (a developer's, CI's) and different
# commits thus never overwrite each other's images in the shared cache.
publish_flags=(-c Release -r linux-arm64 --self-contained -p:InvariantGlobalization=true -p:PublishReadyToRun=true)

build_id() {
  (cd "$repo" && echo "${publish_flags[*]}" && sha256sum deploy/archlab/guest-init.sh &&
    find server proto Directory.Build.props Directory.Packages.props global.json -type f \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' -o -name '*.props' -o -name '*.json' \) \
      -not -path '*/bin/*' -not -path '*/obj/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}

# The initramfs also holds the certificates and the policy: they key its name (beside the
# build), so that new certificates make a new image without publishing the daemon again.
guest_files_id() {
  (cat "$tls/ca.pem" "$tls/server.pem" "$here/policy.yaml" 2>/dev/null || echo none) | sha256sum | cut -c1-12
}

initrd_path() {
  local kernel=$1 release
  release=$(sed -n 's/^release=//p' "$cache/kernels/$kernel/kernel.info" 2>/dev/null)
  echo "$cache/builds/$(build_id)/initrd-${release:-unknown}-$(guest_files_id).cpio"
}

# The daemon, self-contained for linux-arm64. ReadyToRun: under emulation every
# JIT-compiled method costs, and precompiled code starts the daemon and serves the first
# calls much sooner. Its own artifacts path keeps the publish away from the obj/ and bin/
# directories of the host build (which may be running the tests meanwhile).
publish_daemon() {
  local out
  out="$cache/builds/$(build_id)/pvmd"
  [ -x "$out/pvmd" ] && return 0
  log "publishing pvmd for linux-arm64 (self-contained, ReadyToRun) into $out"
  rm -rf "$out.tmp" && mkdir -p "$(dirname "$out")"
  dotnet publish "$repo/server/Pvmd.Server" "${publish_flags[@]}" \
    --artifacts-path "$cache/dotnet-artifacts/$(build_id)" -o "$out.tmp" -nologo -v:q -clp:NoSummary
  mv "$out.tmp" "$out"
  rm -rf "$cache/dotnet-artifacts/$(build_id)"
}

build_initrd() {
  local kernel=$1 kdir="$cache/kernels/$1" stage out
  out=$(initrd_path "$kernel")
  [ -f "$out" ] && return 0
  # An image of the same build with older certificates is of no further use.
  rm -f "${out%-*}"-*.cpio
  stage=$(scratch_dir)
  mkdir -p "$stage"/{bin,dev,etc/pvmd,proc,sys,run,tmp,root,opt,lib/archlab/modules}
  cp -a "$cache/userland/." "$stage/"
  cp -a "$(dirname "$out")/pvmd" "$stage/opt/pvmd"
  cp "$kdir/modules.list" "$stage/lib/archlab/"
  cp "$kdir"/modules/*.ko "$stage/lib/archlab/modules/" 2>/dev/null || true
  cp "$here/guest-init.sh" "$stage/init"
  chmod 0755 "$stage/init"
  cp "$tls/server.pem" "$tls/ca.pem" "$here/policy.yaml" "$stage/etc/pvmd/"
  install -m 0600 "$tls/server.key" "$stage/etc/pvmd/server.key"
  mknod -m 600 "$stage/dev/console" c 5 1
  mknod -m 666 "$stage/dev/null" c 1 3
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\n' >"$stage/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$stage/etc/hosts"
  printf 'archlab-%s\n' "$kernel" >"$stage/etc/hostname"
  # Uncompressed: the kernel unpacks it at once, where decompressing ~100 MB under
  # emulation would cost seconds of every boot.
  (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
  log "$kernel: initramfs $out ($(du -m "$out" | cut -f1) MiB)"
}

# Keeps the newest few builds: each is ~120 MiB plus ~125 MiB per kernel.
prune_builds() {
  local old
  for old in $(ls -1dt "$cache"/builds/*/ 2>/dev/null | tail -n +5); do
    rm -rf "$old"
  done
}

cmd_build() {
  require_root
  local kernels=("$@")
  [ ${#kernels[@]} -gt 0 ] || kernels=("${all_kernels[@]}")
  mkdir -p "$cache"
  # One build at a time per cache (apt, extraction, publish): a second waits.
  exec {build_lock}>"$cache/build.lock"
  flock "$build_lock"
  cmd_fetch "${kernels[@]}"
  make_tls
  publish_daemon
  for kernel in "${kernels[@]}"; do build_initrd "$kernel"; done
  touch "$cache/builds/$(build_id)"
  prune_builds
  flock -u "$build_lock"
}

# --- boot --------------------------------------------------------------------------------

pick_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    if ! ss -Hltn "( sport = :$port )" | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# gRPC health check over HTTP/2 and mutual TLS with curl, as the lab's client: an empty
# HealthCheckRequest frame; the answer's message is 08 01 (status SERVING).
healthy() {
  local answer
  answer=$(printf '\0\0\0\0\0' | curl -s --http2 --max-time 20 \
    --cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client.key" \
    -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- \
    "https://127.0.0.1:$1/grpc.health.v1.Health/Check" 2>/dev/null | od -An -tx1 | tr -d ' \n')
  [ "$answer" = 00000000020801 ]
}

# Boots KERNEL in the background and waits until its daemon answers. Prints
# ARCHLAB_ADDRESS=... and ARCHLAB_RUN=... on stdout; timings go to RUN/timings.
cmd_start() {
  require_root
  local kernel=${1:-}
  [ -n "$kernel" ] || die "usage: lab.sh start KERNEL"
  check_kernel "$kernel"
  local initrd
  initrd=$(initrd_path "$kernel")
  tls_valid && [ -f "$initrd" ] || die "$kernel: no initramfs for this source tree and certificates: run lab.sh build $kernel first"
  command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing: run lab.sh fetch"
  local attempt run port t0 t_init="" t_exec="" t_ready="" guest_init="" qemu_pid deadline
  mkdir -p "$cache/runs"
  # Until the daemon answers, whatever ends this shell also ends the guest.
  trap on_exit EXIT
  for attempt in 1 2 3; do
    run=$(mktemp -d "$cache/runs/$kernel.$(date +%Y%m%dT%H%M%S).XXXX")
    port=$(pick_port)
    mkfifo "$run/console.in"
    echo "$port" >"$run/port"
    echo "$kernel" >"$run/kernel"
    t0=$(now)
    # stdin is the FIFO opened read-write, so qemu never sees end-of-file and `stop` can
    # write "poweroff" into the guest console. timeout bounds qemu whatever happens to us.
    timeout --kill-after=10 "$((guest_timeout + 60))" qemu-system-aarch64 \
      -M virt -cpu cortex-a57 -smp 2 -m "$guest_memory" -nographic -no-reboot \
      -kernel "$cache/kernels/$kernel/vmlinuz" -initrd "$initrd" \
      -append "console=ttyAMA0 panic=-1 quiet archlab.port=$guest_port archlab.timeout=$guest_timeout archlab.otlp=$guest_otlp archlab.otlp_protocol=$guest_otlp_protocol" \
      -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:$guest_port" \
      -device virtio-net-pci,netdev=net0,romfile= \
      <>"$run/console.in" >"$run/console.log" 2>&1 &
    qemu_pid=$!
    echo "$qemu_pid" >"$run/qemu.pid"
    boot_run=$run
    deadline=$(($(date +%s) + ready_timeout))
    while [ "$(date +%s)" -lt "$deadline" ]; do
      if ! kill -0 "$qemu_pid" 2>/dev/null; then
        break
      fi
      if [ -z "$t_init" ] && grep -q 'archlab: init' "$run/console.log"; then
        t_init=$(now)
        guest_init=$(sed -n 's/.*archlab: init at \([0-9.]*\)s.*/\1/p' "$run/console.log" | head -n 1)
      fi
      if [ -z "$t_exec" ] && grep -q 'archlab: starting pvmd' "$run/console.log"; then
        t_exec=$(now)
      fi
      if [ -n "$t_exec" ] && healthy "$port"; then
        t_ready=$(now)
        break
      fi
      sleep 0.1
    done
    if [ -n "$t_ready" ]; then
      break
    fi
    cmd_stop "$run" >/dev/null 2>&1 || true
    boot_run=""
    if grep -q 'Could not set up host forwarding rule' "$run/console.log" && [ "$attempt" -lt 3 ]; then
      log "$kernel: port $port was taken meanwhile; retrying"
      t_init="" t_exec=""
      continue
    fi
    log "$kernel: the guest did not answer; console (last 40 lines):"
    tail -n 40 "$run/console.log" | tr -d '\r' >&2
    exit 1
  done
  boot_run=""
  {
    echo "boot_seconds=$(seconds_between "$t0" "${t_init:-$t0}")"
    echo "guest_uptime_at_init=${guest_init:-?}"
    echo "daemon_start_seconds=$(seconds_between "$t_exec" "$t_ready")"
    echo "ready_seconds=$(seconds_between "$t0" "$t_ready")"
  } >"$run/timings"
  log "$kernel: ready on https://127.0.0.1:$port ($(tr '\n' ' ' <"$run/timings"))"
  log "$kernel: by hand: pvmctl --url https://127.0.0.1:$port ${tls_client[*]} platform"
  echo "ARCHLAB_ADDRESS=https://127.0.0.1:$port"
  echo "ARCHLAB_TLS_CERT=$tls/client.pem"
  echo "ARCHLAB_TLS_KEY=$tls/client.key"
  echo "ARCHLAB_TLS_CA=$tls/ca.pem"
  echo "ARCHLAB_RUN=$run"
}

# Tells the guest to power off, then makes sure qemu is gone and its port free.
cmd_stop() {
  local run=${1:-} pid
  [ -n "$run" ] && [ -f "$run/qemu.pid" ] || die "usage: lab.sh stop RUN (the ARCHLAB_RUN that start printed)"
  pid=$(cat "$run/qemu.pid")
  if kill -0 "$pid" 2>/dev/null; then
    timeout 2 bash -c 'printf "\npoweroff\n" >"$1"' _ "$run/console.in" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "the guest ignored poweroff: killing qemu ($pid)"
      kill "$pid" 2>/dev/null || true
      sleep 1
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  # qemu is our child only when start ran in this shell.
  wait "$pid" 2>/dev/null || true
  rm -f "$run/console.in"
}

cmd_boot() {
  local kernel=${1:-}
  shift || true
  [ "${1:-}" = "--" ] && shift
  local started
  started=$(cmd_start "$kernel") || exit 1
  local address run
  address=$(sed -n 's/^ARCHLAB_ADDRESS=//p' <<<"$started")
  run=$(sed -n 's/^ARCHLAB_RUN=//p' <<<"$started")
  boot_run=$run
  echo "$started"
  if [ $# -gt 0 ]; then
    ARCHLAB_ADDRESS=$address ARCHLAB_RUN=$run ARCHLAB_TLS_CERT="$tls/client.pem" \
      ARCHLAB_TLS_KEY="$tls/client.key" ARCHLAB_TLS_CA="$tls/ca.pem" "$@"
  fi
}

# --- clean -------------------------------------------------------------------------------

cmd_clean() {
  require_root
  log "removing $cache"
  rm -rf "$cache"
  if [ "${1:-}" = "--apt" ]; then
    rm -f "$apt_source" "$apt_pin"
    if ! dpkg-query -W -f '${Architecture}\n' 2>/dev/null | grep -qx arm64; then
      dpkg --remove-architecture arm64 2>/dev/null || true
    fi
    apt_get update -qq || true
  fi
}

main() {
  local command=${1:-}
  shift || true
  case $command in
    fetch) cmd_fetch "$@" ;;
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    boot) cmd_boot "$@" ;;
    run) source "$here/experiment.sh"; cmd_run "$@" ;;
    clean) cmd_clean "$@" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
