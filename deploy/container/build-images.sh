#!/usr/bin/env bash
# Builds pvmd's container images, linux/amd64 and linux/arm64, from this checkout with podman,
# on a Debian (or Debian-like, apt-based) host of either architecture, without emulation:
#
#   sudo deploy/container/build-images.sh
#
# 1. Installs what is missing through apt: podman, runc (dotnet must already be on PATH).
# 2. Makes a minimal base image per architecture from Debian packages only: libc6, libgcc-s1,
#    libstdc++6 and libssl3, downloaded through the host's own apt sources with a private apt
#    state (the host's package lists and dpkg database are left alone), unpacked with
#    dpkg-deb -x and turned into an image with `podman import`. No package script runs, so
#    nothing needs an emulator. (Elsewhere the Containerfile's default base, Microsoft's
#    runtime-deps image, takes its place: see --base-image.)
# 3. Publishes the daemon self-contained for each runtime (linux-x64, linux-arm64) outside any
#    container, and builds deploy/container/Containerfile once per platform: the final stage
#    only copies files in, so the arm64 image builds on x86_64.
# 4. Tags localhost/pvmd:VERSION-amd64 and localhost/pvmd:VERSION-arm64, and a manifest list
#    localhost/pvmd:VERSION holding both; prints sizes and the build time.
#
# Options:
#   --arch "amd64 arm64"   which architectures (default both)
#   --base-image IMAGE     build FROM this image instead of the local Debian base (for example
#                          the Containerfile's default, where a registry serves it)
#   --context-only         stop after staging the build context (published apps), for building
#                          with another tool: docker buildx build --platform linux/amd64,linux/arm64
#                          -f deploy/container/Containerfile deploy/container/.cache/context
#   --version V            image version (default: <Version> in Directory.Build.props)
# Environment: PVMD_IMAGE_CACHE (default deploy/container/.cache, git-ignored) holds the apt
# state, downloaded .debs, the rootfs tarballs, the published apps and the build context.
set -euo pipefail
started=$SECONDS
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

arches="amd64 arm64"
base_override=""
context_only=false
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arches=$2; shift 2 ;;
    --base-image) base_override=$2; shift 2 ;;
    --context-only) context_only=true; shift ;;
    --version) version=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for arch in $arches; do
  case "$arch" in
    amd64|arm64) ;;
    *) echo "build-images: unsupported architecture '$arch' (amd64, arm64)" >&2; exit 2 ;;
  esac
done

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (podman import/build of root-owned files, apt installs)"
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not on PATH"
command -v apt-get >/dev/null || die "needs an apt-based host (Debian or Ubuntu) for the base packages"

install_missing() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} through apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
[ "$context_only" = true ] || install_missing

# crun fails on hosts with hybrid cgroups and systemd may not be PID 1: say which runtime and
# cgroup manager to use on every call.
podman() { command podman --runtime runc --cgroup-manager cgroupfs "$@"; }

version=${version:-$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)}
[ -n "$version" ] || die "no <Version> in Directory.Build.props; pass --version"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
# Reproducible timestamps: the last commit's time, not the build's.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

cache=${PVMD_IMAGE_CACHE:-$repo/deploy/container/.cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
context=$cache/context
mkdir -p "$context/publish"

# Debian architecture -> .NET runtime identifier, ELF loader.
rid_of() { case "$1" in amd64) echo linux-x64 ;; arm64) echo linux-arm64 ;; esac; }

# --- the base: Debian's shared libraries, nothing else ------------------------------------
base_packages=(libc6 libgcc-s1 libstdc++6 libssl3)
# The image's one account, a numeric uid/gid that owns the volume directories.
pvmd_uid=65532

apt_private() {
  local arch=$1; shift
  local state=$cache/apt/$arch
  mkdir -p "$state/lists/partial" "$state/archives/partial"
  [ -e "$state/status" ] || : >"$state/status"
  # The host's own sources (its mirror and suites), read at run time; everything else private.
  apt-get -qq \
    -o Dir::State="$state" -o Dir::State::Lists="$state/lists" -o Dir::State::status="$state/status" \
    -o Dir::Cache="$state" -o Dir::Cache::archives="$state/archives" \
    -o Dir::Etc::SourceList=/etc/apt/sources.list -o Dir::Etc::SourceParts=/etc/apt/sources.list.d \
    -o APT::Architecture="$arch" -o APT::Architectures="$arch" \
    -o Acquire::Languages=none -o APT::Sandbox::User=root -o Debug::NoLocking=1 \
    "$@"
}

download_debs() {
  local arch=$1 debs=$cache/debs/$arch
  mkdir -p "$debs"
  # Package lists: refreshed once a day.
  if [ -z "$(find "$cache/apt/$arch/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    log "$arch: package lists from the host's apt sources"
    apt_private "$arch" update
  fi
  local wanted=() uri file size hash
  while read -r uri file size hash; do
    wanted+=("$file")
    if [ ! -s "$debs/$file" ]; then
      log "$arch: downloading $file"
      (cd "$debs" && apt_private "$arch" download "${file%%_*}")
    fi
  done < <(apt_private "$arch" --print-uris download "${base_packages[@]}")
  [ ${#wanted[@]} -eq ${#base_packages[@]} ] || die "$arch: apt did not name all of ${base_packages[*]}"
  printf '%s\n' "${wanted[@]}" >"$debs/current"
}

make_rootfs() {
  local arch=$1 debs=$cache/debs/$arch root=$cache/rootfs/$arch
  rm -rf "$root"
  mkdir -p "$root"
  while read -r file; do
    dpkg-deb -x "$debs/$file" "$root"
  done <"$debs/current"
  # Documentation, manuals and iconv's converters are not needed by a program with invariant
  # globalization; the packages' copyright files stay.
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  find "$root/usr/share/doc" -type d -empty -delete
  rm -rf "$root/usr/share/lintian" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
    "$root"/usr/lib/*-linux-gnu/gconv
  mkdir -p "$root/etc" "$root/tmp" "$root/run/pvmd" "$root/var/lib/pvmd" "$root/usr/share/pvmd-base"
  chmod 1777 "$root/tmp"
  cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/usr/sbin/nologin
pvmd:x:$pvmd_uid:$pvmd_uid:pvmd:/var/lib/pvmd:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  cat >"$root/etc/group" <<EOF
root:x:0:
pvmd:x:$pvmd_uid:
nogroup:x:65534:
EOF
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  chown "$pvmd_uid:$pvmd_uid" "$root/run/pvmd" "$root/var/lib/pvmd"
  # What the base holds, for whoever inspects the image.
  sed 's/\.deb$//' "$debs/current" >"$root/usr/share/pvmd-base/packages"
  tar --sort=name --mtime="@$epoch" --numeric-owner --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$root" -cf "$cache/rootfs-$arch.tar" .
}

import_base() {
  local arch=$1 image=localhost/pvmd-base:$arch digest
  digest=$(sha256sum "$cache/rootfs-$arch.tar" | cut -d' ' -f1)
  if [ "$(podman image inspect --format '{{ index .Labels "pvmd.base.rootfs-sha256" }}' "$image" 2>/dev/null)" = "$digest" ]; then
    log "$arch: base image $image is current"
    return
  fi
  log "$arch: importing $image"
  podman import --quiet --os linux --arch "$arch" \
    --change "LABEL pvmd.base.rootfs-sha256=$digest" \
    --change "LABEL pvmd.base.packages=$(tr '\n' ' ' <"$cache/rootfs/$arch/usr/share/pvmd-base/packages" | sed 's/ $//')" \
    "$cache/rootfs-$arch.tar" "$image" >/dev/null
}

# --- the app ----------------------------------------------------------------------------
publish() {
  local arch=$1 rid out=$context/publish/linux-$1
  rid=$(rid_of "$arch")
  log "$arch: dotnet publish ($rid, self-contained)"
  rm -rf "$out"
  # A private artifacts path keeps this publish's restore and obj/ apart from the checkout's
  # own build (and from tests running it meanwhile).
  dotnet publish server/Pvmd.Server/Pvmd.Server.csproj -c Release -r "$rid" --self-contained \
    --artifacts-path "$cache/artifacts" -p:DebugType=none -o "$out" -nologo -v:q -clp:NoSummary >&2
  # Loaded only for LTTng tracing, which needs liblttng-ust: not in the image.
  rm -f "$out/libcoreclrtraceptprovider.so"
  [ -x "$out/pvmd" ] || die "$arch: publish produced no pvmd executable"
}

stage_volumes() {
  # Empty directories the image creates (COPY --chown) as mount points, owned by the pvmd uid.
  mkdir -p "$context/volumes/run/pvmd" "$context/volumes/var/lib/pvmd"
}

build_image() {
  local arch=$1 base tag=localhost/pvmd:$version-$1 pull=never
  if [ -n "$base_override" ]; then
    base=$base_override
    pull=missing
  else
    base=localhost/pvmd-base:$arch
  fi
  log "$arch: podman build $tag FROM $base"
  # docker format: the OCI image config has no HEALTHCHECK.
  podman build --quiet --pull="$pull" --format docker --platform "linux/$arch" --timestamp "$epoch" \
    --build-arg BASE_IMAGE="$base" --build-arg VERSION="$version" \
    --build-arg REVISION="$revision" --build-arg CREATED="$created" \
    -f deploy/container/Containerfile -t "$tag" "$context" >/dev/null
}

for arch in $arches; do
  publish "$arch"
done
stage_volumes
if [ "$context_only" = true ]; then
  log "context staged in $context"
  exit 0
fi

for arch in $arches; do
  if [ -z "$base_override" ]; then
    download_debs "$arch"
    make_rootfs "$arch"
    import_base "$arch"
  fi
  build_image "$arch"
done

list=localhost/pvmd:$version
if podman manifest exists "$list" 2>/dev/null; then
  podman manifest rm "$list" >/dev/null
fi
podman manifest create "$list" >/dev/null
for arch in $arches; do
  podman manifest add "$list" "containers-storage:localhost/pvmd:$version-$arch" >/dev/null
done

report=$cache/build-report.txt
{
  printf 'pvmd %s (%s), built %s in %d s\n' "$version" "$revision" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" $((SECONDS - started))
  printf '%-32s %-8s %10s\n' IMAGE ARCH SIZE
  for arch in $arches; do
    images=("localhost/pvmd:$version-$arch")
    [ -n "$base_override" ] || images+=("localhost/pvmd-base:$arch")
    for image in "${images[@]}"; do
      size=$(podman image inspect --format '{{.Size}}' "$image")
      printf '%-32s %-8s %10s\n' "${image#localhost/}" "$arch" "$(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }')"
    done
  done
  printf 'manifest list: %s\n' "${list#localhost/}"
} | tee "$report"
