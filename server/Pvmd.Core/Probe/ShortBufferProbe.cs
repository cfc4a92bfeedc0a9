using System.Runtime.CompilerServices;
using Pvmd.Core.Host;
using Pvmd.Core.Memory;
using Pvmd.Core.Procfs;

namespace Pvmd.Core.Probe;

/// <summary>
/// The short-buffer probe: does the count process_vm_readv/writev return match the bytes it
/// really changed when one side's buffer runs into a guard page? See
/// docs/short-copy-probe.md for the experiment.
/// </summary>
public static class ShortBufferProbe
{
    /// <summary>
    /// Runs a sweep and yields, as they come, the case records worth reporting (all but EXACT,
    /// or all with <see cref="ProbeSweep.IncludeExact"/>), progress every
    /// <see cref="ProbeSweep.ProgressEvery"/> cases, and finally one <see cref="ProbeSummary"/>.
    /// The sweep runs on the enumerating thread while the consumer is not awaiting something
    /// else, so a slow consumer slows the sweep instead of piling up records.
    /// </summary>
    /// <param name="scratchChild">How to start the scratch child; null: the daemon's own executable.</param>
    /// <exception cref="InvalidRequestException">bad sweep, or an explicit target's range is not
    /// mapped readable and writable; raised before any buffer is mapped or process started.</exception>
    /// <exception cref="TargetNotFoundException">the explicit target does not exist (or exited).</exception>
    /// <exception cref="ProbeAbortedException">the scratch child failed, or something broke the
    /// probe's assumptions while it ran.</exception>
    public static async IAsyncEnumerable<ProbeEvent> RunAsync(
        ProbeSweep sweep,
        ScratchChildOptions? scratchChild = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var pageSize = HostFacts.PageSizeBytes;
        sweep.Validate(pageSize);

        ScratchChildProcess? child = null;
        TargetHandle? target = null;
        ProbeEngine? engine = null;
        try
        {
            if (sweep.Target is { } explicitTarget)
            {
                target = TargetHandle.Open(explicitTarget.Pid, explicitTarget.StartTime);
                CheckRemoteRange(explicitTarget.Pid, explicitTarget.RemoteAddress, (ulong)sweep.RemoteBytes);
                engine = ProbeEngine.ForExplicitTarget(sweep, pageSize, target, explicitTarget.RemoteAddress);
            }
            else
            {
                child = await ScratchChildProcess.StartAsync(scratchChild ?? ScratchChildOptions.ForCurrentProcess(), sweep.Guard, cancellationToken)
                    .ConfigureAwait(false);
                target = TargetHandle.Open(child.Pid);
                engine = ProbeEngine.ForScratchChild(sweep, pageSize, target, child.ArenaBase);
            }
            while (engine.Next(cancellationToken) is { } probeEvent)
            {
                yield return probeEvent;
            }
        }
        finally
        {
            // Restores an explicit target before anything else goes away; the child is
            // reaped whatever happened.
            try
            {
                engine?.Dispose();
            }
            finally
            {
                target?.Dispose();
                child?.Dispose();
            }
        }
    }

    /// <summary>The explicit target's range must be mapped, readable and writable throughout.</summary>
    internal static void CheckRemoteRange(int pid, ulong address, ulong length)
    {
        var maps = ProcMaps.Read(pid);
        var end = address + length;
        var cursor = address;
        while (cursor < end)
        {
            var region = maps.Find(cursor)
                ?? throw new InvalidRequestException($"0x{cursor:x} is not mapped in pid {pid}: the probe needs [0x{address:x}, 0x{end:x}) mapped readable and writable");
            if (!region.CanRead || !region.CanWrite)
            {
                throw new InvalidRequestException($"0x{region.Start:x}-0x{region.End:x} in pid {pid} is {region.Permissions}: the probe needs [0x{address:x}, 0x{end:x}) readable and writable");
            }
            cursor = region.End;
        }
    }
}
