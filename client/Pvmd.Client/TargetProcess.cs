using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>The process a request acts on: a pid and, to guard against pid reuse, the start
/// time the caller saw (from <see cref="ProcessInfo.StartTime"/>; 0 = do not check).</summary>
/// <param name="Pid">The process id in the daemon's PID namespace.</param>
/// <param name="StartTime">Start time in clock ticks after boot (/proc/PID/stat field 22);
/// when it differs from the live process's, the daemon refuses with
/// <see cref="TargetChangedException"/>.</param>
public readonly record struct TargetProcess(int Pid, ulong StartTime = 0)
{
    /// <summary>The target named by a process listing entry, pinned by its start time.</summary>
    /// <param name="process">An entry returned by <see cref="PvmdClient.ListProcessesAsync"/>.</param>
    /// <returns>The target.</returns>
    public static TargetProcess From(ProcessInfo process)
    {
        ArgumentNullException.ThrowIfNull(process);
        return new TargetProcess(process.Pid, process.StartTime);
    }

    /// <summary>The contract's form of this target.</summary>
    /// <returns>A new <see cref="Target"/> message.</returns>
    public Target ToProto() => new() { Pid = Pid, StartTime = StartTime };
}
