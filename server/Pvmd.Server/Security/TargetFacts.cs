using Pvmd.Core.Host;
using Pvmd.Core.Procfs;

namespace Pvmd.Server.Security;

/// <summary>
/// What the policy may ask about a target, read from /proc only when a rule asks (a policy
/// of "any" targets costs nothing). Whoever creates it checks afterwards that the target is
/// still the process it pinned, so facts never describe a successor that reused the pid.
/// </summary>
public sealed class TargetFacts
{
    private readonly Lazy<ProcessCredentials?> _credentials;
    private readonly Lazy<string> _executable;
    private readonly Lazy<string> _cgroupFile;

    public TargetFacts(int pid, ulong startTime, string command)
    {
        Pid = pid;
        StartTime = startTime;
        Command = command;
        IsDaemon = pid == Environment.ProcessId;
        _credentials = new(() => ProcessCredentials.TryRead(pid));
        _executable = new(() => ReadExecutable(pid));
        _cgroupFile = new(() => ProcessCredentials.ReadCgroupFile(pid) ?? "");
    }

    public int Pid { get; }

    /// <summary>Whether a decision read anything of the process by its path under /proc (its
    /// credentials, executable or cgroup): such facts are the pinned process's only if it is
    /// still alive after they were read.</summary>
    public bool ReadByPath => _credentials.IsValueCreated || _executable.IsValueCreated || _cgroupFile.IsValueCreated;

    public ulong StartTime { get; }

    /// <summary>The command name (comm): the target chooses it (prctl PR_SET_NAME).</summary>
    public string Command { get; }

    public bool IsDaemon { get; }

    /// <summary>/proc/PID/exe; "" when unreadable.</summary>
    public string Executable => _executable.Value;

    /// <summary>The cgroup v2 path; the process cannot move itself out of it without write
    /// access to the cgroup tree.</summary>
    public string Cgroup => ProcessCredentials.CgroupPath(_cgroupFile.Value);

    /// <summary>The container id found in any line of /proc/PID/cgroup; "" when none.</summary>
    public string ContainerId => ProcessCredentials.ContainerId(_cgroupFile.Value);

    public ProcessCredentials? Credentials => _credentials.Value;

    public bool AllUidsAre(uint uid) => Credentials is { } c && c.Uids.All(u => u == uid);

    /// <summary>
    /// Whether the caller could read this process without any privilege, by the kernel's own
    /// ptrace access check (PTRACE_MODE_ATTACH_REALCREDS): every uid and gid of the target equal
    /// to the caller's, no permitted capabilities, dumpable (so not a setuid program and not
    /// an agent that made itself undumpable), and Yama: with ptrace_scope 1 only the caller's
    /// descendants, with 2 or 3 nothing. The daemon holds CAP_SYS_PTRACE, so the kernel skips
    /// all of this for it: the policy must not.
    /// </summary>
    public bool CallerCouldTraceItself(Caller caller)
    {
        if (caller.Uid is not { } uid || caller.Gid is not { } gid || Credentials is not { } credentials)
        {
            return false;
        }
        if (!credentials.Uids.All(u => u == uid) || !credentials.Gids.All(g => g == gid)
            || credentials.PermittedCapabilities != 0 || credentials.ProcOwnerUid != uid)
        {
            return false;
        }
        return HostFacts.ReadYamaPtraceScope() switch
        {
            <= 0 => true,
            1 => caller.Pid is { } callerPid && IsDescendantOf(callerPid),
            _ => false,
        };
    }

    private static string ReadExecutable(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/exe").LinkTarget ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private bool IsDescendantOf(int ancestor)
    {
        var pid = Pid;
        for (var depth = 0; depth < 4096 && pid > 1; depth++)
        {
            var stat = ProcStat.TryRead(pid);
            if (stat is null)
            {
                return false;
            }
            if (stat.ParentPid == ancestor)
            {
                return true;
            }
            pid = stat.ParentPid;
        }
        return false;
    }
}
