namespace Pvmd.Server.Telemetry;

/// <summary>The names the daemon's telemetry uses: span and event names, attribute keys and
/// instrument names. They are part of the daemon's interface (dashboards and alerts filter on
/// them), listed in docs/observability.md; change them as you would change the contract.
/// Semantic-convention names are used where one exists (host.arch, os.version, error.type).</summary>
public static class TelemetryNames
{
    /// <summary>The ActivitySource and the Meter.</summary>
    public const string Source = "Pvmd.Server";

    // Span names: the syscall the span times.
    public const string ReadSpan = "process_vm_readv";
    public const string WriteSpan = "process_vm_writev";
    public const string ForcedWriteSpan = "pwrite /proc/PID/mem";
    public const string ProbeSpan = "pvmd.probe";
    /// <summary>A read over the node-local path (the counterpart of the ReadRemote RPC span).</summary>
    public const string LocalReadSpan = "pvmd.local_path.read";

    /// <summary>The event that marks a disagreement between the count and the bytes changed.</summary>
    public const string MismatchEvent = "pvmd.byte_count_mismatch";

    // Attributes of the syscall spans (and, for the pid and mismatch, of the RPC span).
    public const string TargetPid = "pvmd.target.pid";
    public const string Address = "pvmd.address";
    public const string Iovecs = "pvmd.iovecs";
    public const string Requested = "pvmd.requested_bytes";
    public const string Returned = "pvmd.returned";
    public const string Actual = "pvmd.actual";
    public const string Verified = "pvmd.verified";
    public const string Errno = "pvmd.errno";
    public const string Mismatch = "pvmd.mismatch";
    public const string MismatchCount = "pvmd.mismatch.count";
    public const string Injected = "pvmd.injected";

    // Attributes of the mismatch event (with Returned, Actual, Injected).
    public const string ChangedBeyondReturned = "pvmd.changed_beyond_returned";
    public const string UnwrittenBelowReturned = "pvmd.unwritten_below_returned";
    public const string FirstModifiedOffset = "pvmd.first_modified_offset";
    public const string LastModifiedOffset = "pvmd.last_modified_offset";
    public const string Class = "pvmd.class";
    public const string HostArch = "host.arch";
    public const string OsVersion = "os.version";

    // Attributes of the probe span and its events.
    public const string ProbeCases = "pvmd.probe.cases";
    public const string ProbeNonExact = "pvmd.probe.non_exact";
    /// <summary>Prefix of the per-class counts on the probe span: pvmd.probe.class.short_dirty = 12.</summary>
    public const string ProbeClassPrefix = "pvmd.probe.class.";
    public const string ProbeEventsDropped = "pvmd.probe.events_dropped";
    public const string ProbeOpAttribute = "pvmd.probe.op";
    public const string ProbeBefore = "pvmd.probe.before";
    public const string ProbeAfter = "pvmd.probe.after";
    public const string ProbeMisalignment = "pvmd.probe.misalignment";
    public const string ProbeLayoutAttribute = "pvmd.probe.layout";
    public const string ProbeGuard = "pvmd.probe.guard";
    public const string ProbeShortSide = "pvmd.probe.short_side";

    // Metric attributes.
    public const string Syscall = "pvmd.syscall";
    public const string Op = "pvmd.op";
    public const string ErrorType = "error.type";

    // Instruments.
    public const string ReadBytes = "pvmd.read.bytes";
    public const string WriteBytes = "pvmd.write.bytes";
    public const string SyscallCalls = "pvmd.syscall.calls";
    public const string SyscallDuration = "pvmd.syscall.duration";
    public const string Mismatches = "pvmd.mismatches";
    public const string ProbeCaseCount = "pvmd.probe.case_count";

    // Resource attributes of our own (the rest are semantic conventions).
    public const string PageSize = "pvmd.page_size";
    public const string Machine = "pvmd.machine";
    public const string Emulation = "pvmd.emulation";
}
