using System.Globalization;
using System.Runtime.InteropServices;
using Pvmd.Core.Interop;

namespace Pvmd.Core.Procfs;

/// <summary>
/// What the kernel's ptrace access check looks at for a target, read from /proc: its real,
/// effective, saved and filesystem uids and gids, its permitted capabilities, and whether it is
/// dumpable. A process that is not dumpable (setuid programs, agents that call
/// prctl(PR_SET_DUMPABLE, 0) such as ssh-agent) has its /proc/PID directory owned by root,
/// which is how dumpability shows from outside.
/// </summary>
public sealed record ProcessCredentials(uint[] Uids, uint[] Gids, ulong PermittedCapabilities, uint ProcOwnerUid)
{
    /// <summary>Reads /proc/PID/status and the owner of /proc/PID; null when the process is gone.</summary>
    public static ProcessCredentials? TryRead(int pid, string procRoot = "/proc")
    {
        uint[]? uids = null, gids = null;
        ulong capabilities = 0;
        try
        {
            foreach (var line in File.ReadLines($"{procRoot}/{pid}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    uids = Numbers(line[4..]);
                }
                else if (line.StartsWith("Gid:", StringComparison.Ordinal))
                {
                    gids = Numbers(line[4..]);
                }
                else if (line.StartsWith("CapPrm:", StringComparison.Ordinal))
                {
                    capabilities = ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var owner = OwnerUid($"{procRoot}/{pid}");
        if (uids is not { Length: 4 } || gids is not { Length: 4 } || owner is null)
        {
            return null;
        }
        return new ProcessCredentials(uids, gids, capabilities, owner.Value);
    }

    /// <summary>The owner uid of a path (statx, which has one layout on every architecture).</summary>
    public static unsafe uint? OwnerUid(string path)
    {
        var buffer = stackalloc byte[Libc.StatxSize];
        if (Libc.Statx(Libc.AtFdcwd, path, 0, Libc.StatxUid, buffer) != 0)
        {
            return null;
        }
        return *(uint*)(buffer + Libc.StatxUidOffset);
    }

    /// <summary>The text of /proc/PID/cgroup; null when the process is gone.</summary>
    public static string? ReadCgroupFile(int pid, string procRoot = "/proc")
    {
        try
        {
            return File.ReadAllText($"{procRoot}/{pid}/cgroup");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The path of the cgroup v2 line ("0::/path") of a /proc/PID/cgroup text, or the
    /// first v1 line's path on a host without cgroup v2.</summary>
    public static string CgroupPath(string cgroupFile)
    {
        string? first = null;
        foreach (var line in cgroupFile.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length < 3)
            {
                continue;
            }
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                return parts[2];
            }
            first ??= parts[2];
        }
        return first ?? "";
    }

    /// <summary>The container id in cgroup paths (all lines of /proc/PID/cgroup: on a hybrid
    /// host the id is in the v1 lines only): the last 64-hex-digit word, as
    /// docker, containerd, CRI-O and podman name their scopes ("docker-&lt;id&gt;.scope",
    /// "/kubepods/.../&lt;id&gt;", "crio-&lt;id&gt;.scope", "libpod-&lt;id&gt;.scope"); "" when none.</summary>
    public static string ContainerId(string cgroup)
    {
        var found = "";
        var run = 0;
        for (var i = 0; i <= cgroup.Length; i++)
        {
            if (i < cgroup.Length && char.IsAsciiHexDigitLower(cgroup[i]))
            {
                run++;
                continue;
            }
            if (run == 64)
            {
                found = cgroup.Substring(i - 64, 64);
            }
            run = 0;
        }
        return found;
    }

    private static uint[] Numbers(string text) =>
        [.. text.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Select(f => uint.Parse(f, CultureInfo.InvariantCulture))];
}
