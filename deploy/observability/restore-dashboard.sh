#!/usr/bin/env bash
# Restores the Aspire Dashboard (Aspire.Dashboard.Sdk.linux-x64, the version pinned in
# Directory.Packages.props) through NuGet into a cache, and prints the path of its executable.
# The package is restored like any other: `dotnet restore` of a throwaway project with a
# PackageDownload, so the machine's NuGet sources and credentials apply, and nothing is
# downloaded by hand. Cache: $PVMD_CACHE, else ~/.cache/pvmd.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

package=Aspire.Dashboard.Sdk.linux-x64
if [ "$(uname -m)" != x86_64 ]; then
  echo "restore-dashboard: $package runs on x86_64 only; on $(uname -m) point pvmd at any other OTLP receiver (--otlp-endpoint)" >&2
  exit 2
fi
version=$(sed -nE "s/.*Include=\"$package\" Version=\"([^\"]+)\".*/\1/p" "$root/Directory.Packages.props")
[ -n "$version" ] || { echo "restore-dashboard: no $package version in Directory.Packages.props" >&2; exit 1; }

cache=${PVMD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvmd}
packages="$cache/packages"
lower=$(echo "$package" | tr '[:upper:]' '[:lower:]')
executable="$packages/$lower/$version/tools/Aspire.Dashboard"
if [ ! -x "$executable" ]; then
  project="$cache/dashboard-restore"
  mkdir -p "$project"
  # Outside the repository, so the repository's central package management does not apply.
  cat > "$project/restore.csproj" <<PROJECT
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$package" Version="[$version]" />
  </ItemGroup>
</Project>
PROJECT
  dotnet restore "$project/restore.csproj" --packages "$packages" -nologo -v:q >&2
  chmod u+x "$executable"
fi
echo "$executable"
