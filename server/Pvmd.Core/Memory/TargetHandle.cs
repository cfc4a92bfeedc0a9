using System.Runtime.InteropServices;
using Pvmd.Core.Host;
using Pvmd.Core.Interop;
using Pvmd.Core.Procfs;

namespace Pvmd.Core.Memory;

/// <summary>
/// A target process pinned for the length of one request. The pidfd keeps naming the
/// process the caller meant even if it exits and its pid is reused: after each syscall
/// batch the engine asks <see cref="IsAlive"/>, and a dead target turns the rest of the
/// request into "process gone" instead of reading a stranger's memory.
/// </summary>
public sealed class TargetHandle : IDisposable
{
    private int _pidfd;
    private int _statFd;

    private TargetHandle(int pid, int pidfd, int statFd, ProcStat stat)
    {
        Pid = pid;
        _pidfd = pidfd;
        _statFd = statFd;
        Stat = stat;
    }

    public int Pid { get; }

    public ProcStat Stat { get; private set; }

    public ulong StartTime => Stat.StartTime;

    /// <summary>Pins pid; checks that it started at <paramref name="expectedStartTime"/> when that is not 0.</summary>
    /// <exception cref="InvalidRequestException">pid is not positive, or names a kernel thread.</exception>
    /// <exception cref="TargetNotFoundException">no such process, or a zombie.</exception>
    /// <exception cref="TargetChangedException">the start time differs.</exception>
    public static TargetHandle Open(int pid, ulong expectedStartTime = 0)
    {
        if (pid <= 0)
        {
            throw new InvalidRequestException($"pid must be positive, not {pid}");
        }
        var pidfd = Libc.PidfdOpen(pid, 0);
        if (pidfd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == Errno.ESRCH ? new TargetNotFoundException(pid) : new SystemCallException("pidfd_open", errno);
        }
        // Read the identity after pinning: if this stat belongs to the pinned process, a later
        // reuse of the pid cannot go unnoticed because IsAlive then fails.
        var statFd = ProcStat.OpenFile(pid);
        var stat = statFd < 0 ? null : ProcStat.TryReadOpenFile(statFd);
        try
        {
            if (stat is null || stat.IsZombie)
            {
                throw new TargetNotFoundException(pid);
            }
            if (stat.IsKernelThread)
            {
                throw new InvalidRequestException($"pid {pid} ({stat.Command}) is a kernel thread: it has no user memory");
            }
            if (expectedStartTime != 0 && expectedStartTime != stat.StartTime)
            {
                throw new TargetChangedException(pid, expectedStartTime, stat.StartTime);
            }
            // Still alive after its stat file was opened: the pid was its own then (a pid is
            // reused only after its process is gone), so the stat describes the pinned process.
            if (!Alive(pidfd))
            {
                throw new TargetNotFoundException(pid);
            }
        }
        catch
        {
            Libc.Close(pidfd);
            if (statFd >= 0)
            {
                Libc.Close(statFd);
            }
            throw;
        }
        return new TargetHandle(pid, pidfd, statFd, stat);
    }

    /// <summary>Makes this handle serve another request for <paramref name="pid"/>: true when it
    /// pins that pid, its process is still there and not a zombie, and its start time is the
    /// expected one (0: any). Its <see cref="Stat"/> is read afresh, so what the policy sees is
    /// current. Costs one syscall where a new handle costs five; false means: open a new one.</summary>
    public bool TryRenew(int pid, ulong expectedStartTime)
    {
        if (pid != Pid || _statFd < 0)
        {
            return false;
        }
        // The open stat file is the pinned process's: once that one is reaped, it reads nothing.
        var stat = ProcStat.TryReadOpenFile(_statFd);
        if (stat is null || stat.IsZombie || stat.StartTime != Stat.StartTime || (expectedStartTime != 0 && expectedStartTime != stat.StartTime))
        {
            return false;
        }
        Stat = stat;
        return true;
    }

    /// <summary>True while the pinned process has not exited.</summary>
    public bool IsAlive() => Alive(_pidfd);

    private static bool Alive(int pidfd)
    {
        if (Libc.PidfdSendSignal(pidfd, 0, 0, 0) == 0)
        {
            return true;
        }
        // EPERM means it exists but we may not signal it.
        return Marshal.GetLastPInvokeError() == Errno.EPERM;
    }

    /// <summary>The typed error for a syscall errno on this target: ESRCH means gone,
    /// EPERM/EACCES are explained (Yama, a missing capability, or the kernel's own check).</summary>
    public PvmdException ErrorFor(string call, int errno) => errno switch
    {
        Errno.ESRCH => new TargetNotFoundException(Pid),
        Errno.EPERM or Errno.EACCES => AccessDiagnosis.Explain(Pid, errno),
        _ => new SystemCallException(call, errno),
    };

    public void Dispose()
    {
        Close(ref _pidfd);
        Close(ref _statFd);

        static void Close(ref int descriptor)
        {
            var fd = Interlocked.Exchange(ref descriptor, -1);
            if (fd >= 0)
            {
                Libc.Close(fd);
            }
        }
    }
}

/// <summary>Turns a kernel refusal into a sentence that says who refused: Yama, a missing
/// CAP_SYS_PTRACE, or the kernel's ptrace access check.</summary>
public static class AccessDiagnosis
{
    public static AccessDeniedException Explain(int pid, int errno)
    {
        var name = Errno.Name(errno);
        var scope = HostFacts.ReadYamaPtraceScope();
        var hasCap = HostFacts.ReadHasCapSysPtrace();
        if (scope == 3)
        {
            return new AccessDeniedException(name, DenialCause.Yama, $"Yama ptrace_scope is 3: no process may inspect pid {pid}, whatever its capabilities");
        }
        if (scope == 2 && !hasCap)
        {
            return new AccessDeniedException(name, DenialCause.Yama, $"Yama ptrace_scope is 2: only a daemon with CAP_SYS_PTRACE may inspect pid {pid}");
        }
        var targetUid = ProcessTable.ReadUid(pid, "/proc");
        if (!hasCap && targetUid is not null && targetUid != Libc.Geteuid())
        {
            return new AccessDeniedException(name, DenialCause.Capability, $"pid {pid} belongs to uid {targetUid}: the daemon (uid {Libc.Geteuid()}) needs CAP_SYS_PTRACE");
        }
        if (scope == 1 && !hasCap)
        {
            return new AccessDeniedException(name, DenialCause.Yama, $"Yama ptrace_scope is 1: without CAP_SYS_PTRACE the daemon may inspect only its descendants, and pid {pid} is not one");
        }
        return new AccessDeniedException(name, DenialCause.Kernel, $"the kernel's ptrace access check refused pid {pid} (not dumpable, or a security module)");
    }
}
