using Pvmd.Core.Interop;

namespace Pvmd.Core;

/// <summary>Why the kernel or the daemon refused access to a target.</summary>
public enum DenialCause
{
    /// <summary>The kernel refused (ptrace access check) for a reason pvmd cannot name.</summary>
    Kernel,
    /// <summary>Yama's ptrace_scope forbids it.</summary>
    Yama,
    /// <summary>The daemon lacks CAP_SYS_PTRACE for a target of another user.</summary>
    Capability,
    /// <summary>The daemon's own policy forbids it.</summary>
    Policy,
}

/// <summary>Base of every error the engine reports on purpose; the gRPC host maps each
/// subtype to one status code. <see cref="Reason"/> is a stable machine-readable word
/// (an errno name or a pvmd reason).</summary>
public abstract class PvmdException(string reason, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string Reason { get; } = reason;
}

/// <summary>The target process does not exist (or has exited).</summary>
public sealed class TargetNotFoundException(int pid)
    : PvmdException("ESRCH", $"no process with pid {pid}")
{
    public int Pid { get; } = pid;
}

/// <summary>The kernel or the policy refused access to the target.</summary>
public sealed class AccessDeniedException(string reason, DenialCause cause, string message)
    : PvmdException(reason, message)
{
    public DenialCause Cause { get; } = cause;
}

/// <summary>The request is malformed; nothing was done and nothing was allocated.</summary>
public sealed class InvalidRequestException(string message)
    : PvmdException("INVALID_REQUEST", message);

/// <summary>The pid names another process than the one the caller saw (start time differs).</summary>
public sealed class TargetChangedException(int pid, ulong expected, ulong actual)
    : PvmdException("PID_REUSED", $"pid {pid} started at tick {actual}, not {expected}: the pid was reused")
{
    public int Pid { get; } = pid;
}

/// <summary>Something outside the probe's control broke one of its assumptions while it ran
/// (a thread mapped memory into the guard hole, a transfer over fully mapped memory came
/// up short, the scratch child did not start): the results so far cannot be trusted.</summary>
public sealed class ProbeAbortedException(string message, Exception? inner = null)
    : PvmdException("PROBE_ABORTED", message, inner);

/// <summary>A system call failed in a way the engine does not turn into a partial result.</summary>
public sealed class SystemCallException(string call, int errno)
    : PvmdException(Errno.Name(errno), $"{call} failed: {Errno.Name(errno)}")
{
    public int ErrorNumber { get; } = errno;
}
