using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Pvmd.Core;
using Pvmd.Core.Host;
using Pvmd.Core.Memory;
using Pvmd.Core.Probe;
using static Pvmd.Server.Telemetry.TelemetryNames;

namespace Pvmd.Server.Telemetry;

/// <summary>
/// The daemon's own telemetry in one place: the ActivitySource and the Meter (both
/// <c>Pvmd.Server</c>), the instruments, and how a syscall batch, its verification and a
/// byte-count mismatch are written onto spans. The RPC span is ASP.NET Core's server span;
/// each syscall batch becomes a child of it, and a mismatch is marked on both.
/// <para>Nothing here costs anything while nobody listens: a span is made only when the source
/// has listeners, tags are set only on a span that records, and a measurement is taken only
/// by an enabled instrument.</para>
/// </summary>
public sealed class PvmdInstrumentation : IDisposable
{
    /// <summary>Mismatch events on one span at most; the rest are counted, not listed (a large
    /// read or a probe can find thousands).</summary>
    public const int MaxMismatchEvents = 100;

    private readonly ActivitySource _source;
    private readonly Meter _meter;
    private readonly Counter<long> _readBytes;
    private readonly Counter<long> _writeBytes;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _mismatches;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _probeCases;
    private readonly string _arch;
    private readonly string _kernel;
    private readonly ILogger _logger;

    public PvmdInstrumentation(HostFacts facts, ILogger<PvmdInstrumentation> logger)
    {
        var version = facts.DaemonVersion;
        _source = new ActivitySource(Source, version);
        _meter = new Meter(Source, version);
        _readBytes = _meter.CreateCounter<long>(ReadBytes, "By", "Bytes delivered by process_vm_readv");
        _writeBytes = _meter.CreateCounter<long>(WriteBytes, "By", "Bytes the kernel reported written");
        _calls = _meter.CreateCounter<long>(SyscallCalls, "{call}", "Memory-transfer syscalls made");
        _mismatches = _meter.CreateCounter<long>(Mismatches, "{mismatch}", "Transfers whose returned count disagrees with the bytes changed");
        _duration = _meter.CreateHistogram(SyscallDuration, "s", "Time in one syscall batch (both runs of a verified read)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1] });
        _probeCases = _meter.CreateCounter<long>(ProbeCaseCount, "{case}", "Short-buffer probe cases run, by class");
        _arch = ResourceFacts.SemanticArch(facts.Arch);
        _kernel = facts.KernelRelease;
        _logger = logger;
    }

    internal ActivitySource ActivitySource => _source;

    /// <summary>When the next syscall span would start, taken before the engine makes the call;
    /// null while nobody listens. (The span itself is made once the call has returned, so a
    /// batch enumeration that ends without a call leaves no empty span.)</summary>
    public DateTimeOffset? SyscallStart() => _source.HasListeners() ? DateTimeOffset.UtcNow : null;

    /// <summary>Tags the RPC span with the target, when it records.</summary>
    public void OnRpc(Activity? rpc, int pid)
    {
        if (rpc is { IsAllDataRequested: true } && _source.HasListeners())
        {
            rpc.SetTag(TargetPid, pid);
        }
    }

    /// <summary>Reads the next batch of a read (the engine's enumeration makes the syscall) and
    /// records it, or its failure; null when the read is over. Both read paths step through
    /// their reads with this.</summary>
    public ReadBatch? NextBatch(IEnumerator<ReadBatch> batches, Activity? rpc, int pid)
    {
        var start = SyscallStart();
        try
        {
            if (!batches.MoveNext())
            {
                return null;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            OnSyscallFailed(ReadSpan, "read", pid, e, start);
            throw;
        }
        OnReadBatch(rpc, pid, batches.Current, start);
        return batches.Current;
    }

    /// <summary>Records one process_vm_readv batch: metrics, its span under the RPC span, and
    /// a mismatch wherever it must show.</summary>
    public void OnReadBatch(Activity? rpc, int pid, ReadBatch batch, DateTimeOffset? start)
    {
        var runs = batch.Check is null ? 1 : 2;
        Count(ReadSpan, "read", runs, batch.SyscallTime, batch.ErrorNumber);
        if (_readBytes.Enabled)
        {
            long delivered = 0;
            foreach (var piece in batch.Pieces)
            {
                delivered += piece.Data.Length;
            }
            _readBytes.Add(delivered, new KeyValuePair<string, object?>(Verified, batch.Check is not null));
        }
        var mismatch = batch.Check is { } check ? ByteCountMismatch.Of(check) : null;
        using var span = StartSpan(ReadSpan, start);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TargetPid, pid);
            span.SetTag(Address, Hex(batch.Address));
            span.SetTag(Iovecs, batch.Iovecs);
            span.SetTag(Requested, (long)batch.Requested);
            span.SetTag(Returned, batch.Returned);
            if (batch.ErrorNumber != 0)
            {
                span.SetTag(TelemetryNames.Errno, Core.Interop.Errno.Name(batch.ErrorNumber));
            }
            span.SetTag(Verified, batch.Check is not null);
            if (batch.Check is { } verified)
            {
                span.SetTag(Actual, (long)verified.Actual);
                span.SetTag(Mismatch, verified.Mismatch);
            }
        }
        if (mismatch is not null)
        {
            OnMismatch(span, rpc, mismatch, ReadSpan, pid, batch.Address);
        }
    }

    /// <summary>Records one write (process_vm_writev, or pwrite on /proc/PID/mem with force).</summary>
    public void OnWrite(Activity? rpc, int pid, ulong address, int length, bool force, WriteOutcome outcome, DateTimeOffset? start)
    {
        var name = force ? ForcedWriteSpan : WriteSpan;
        Count(name, "write", 1, outcome.SyscallTime, outcome.ErrorNumber);
        if (_writeBytes.Enabled)
        {
            _writeBytes.Add((long)outcome.Returned, new KeyValuePair<string, object?>(Syscall, name));
        }
        var mismatch = ByteCountMismatch.Of(outcome);
        using var span = StartSpan(name, start);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TargetPid, pid);
            span.SetTag(Address, Hex(address));
            span.SetTag(Requested, length);
            span.SetTag(Returned, outcome.ErrorNumber != 0 ? -1 : (long)outcome.Returned);
            if (outcome.ErrorNumber != 0)
            {
                span.SetTag(TelemetryNames.Errno, Core.Interop.Errno.Name(outcome.ErrorNumber));
            }
            span.SetTag(Verified, outcome.Check is not null);
            if (outcome.Check is { } check)
            {
                span.SetTag(Actual, mismatch?.Actual ?? (long)outcome.Returned);
                span.SetTag(Mismatch, check.Mismatch);
            }
        }
        if (mismatch is not null)
        {
            OnMismatch(span, rpc, mismatch, name, pid, address);
        }
    }

    /// <summary>Records a syscall batch that ended in an exception (the target refused,
    /// vanished, or the call failed): an error span, and the call counted with its error.</summary>
    public void OnSyscallFailed(string name, string op, int pid, Exception exception, DateTimeOffset? start)
    {
        var reason = exception is PvmdException typed ? typed.Reason : exception.GetType().Name;
        if (_calls.Enabled)
        {
            _calls.Add(1, new(Syscall, name), new(Op, op), new(ErrorType, reason));
        }
        using var span = StartSpan(name, start);
        if (span is not null)
        {
            if (span.IsAllDataRequested)
            {
                span.SetTag(TargetPid, pid);
                span.SetTag(ErrorType, reason);
            }
            span.SetStatus(ActivityStatusCode.Error, exception is PvmdException ? exception.Message : reason);
        }
    }

    /// <summary>Starts the span of a probe sweep (a child of the RPC span), or null while
    /// nobody listens. One span for the whole sweep: a default sweep runs 264,192 cases.</summary>
    public Activity? StartProbe(ProbeSweep sweep)
    {
        var span = _source.HasListeners() ? _source.StartActivity(ProbeSpan, ActivityKind.Internal) : null;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(ProbeOpAttribute, sweep.Op.ToString().ToLowerInvariant());
            span.SetTag(ProbeLayoutAttribute, sweep.Layout.ToString().ToLowerInvariant());
            span.SetTag(ProbeGuard, sweep.Guard.ToString().ToLowerInvariant());
            span.SetTag(ProbeShortSide, sweep.ShortSide.ToString().ToLowerInvariant());
            span.SetTag(ProbeBefore, $"{sweep.Before.Min}..{sweep.Before.Max}");
            span.SetTag(ProbeAfter, $"{sweep.After.Min}..{sweep.After.Max}");
            span.SetTag(ProbeMisalignment, $"{sweep.Misalignment.Min}..{sweep.Misalignment.Max}");
            if (sweep.Target is { } target)
            {
                span.SetTag(TargetPid, target.Pid);
            }
        }
        return span;
    }

    /// <summary>Records one reported probe case: a non-EXACT one is a mismatch, counted, and
    /// marked on the probe span and the RPC span (events up to the cap). Not logged one by one:
    /// the summary logs the totals.</summary>
    public void OnProbeCase(Activity? span, Activity? rpc, ProbeCaseRecord record)
    {
        if (record.Class == CaseClass.Exact)
        {
            return;
        }
        var op = record.Op == Core.Probe.ProbeOp.Writev ? "probe_writev" : "probe_readv";
        var className = ClassName(record.Class);
        if (_mismatches.Enabled)
        {
            _mismatches.Add(1, new(Op, op), new(Class, className), new(Injected, record.Injected));
        }
        if (span is not { IsAllDataRequested: true } && rpc is not { IsAllDataRequested: true })
        {
            return;
        }
        var measurement = record.Measurement;
        var mismatch = new ByteCountMismatch(
            op,
            className,
            measurement.First.Ret,
            measurement.ModifiedCount,
            (ulong)measurement.ModifiedBeyondRet,
            (ulong)measurement.OverReported,
            measurement.FirstModified,
            measurement.LastModified,
            record.Injected);
        Mark(span, mismatch, record);
        Mark(rpc, mismatch, record);
    }

    /// <summary>Ends a sweep: totals per class on the probe span, the counter, one log line
    /// when some cases were not EXACT, and a status that summarises them.</summary>
    public void OnProbeSummary(Activity? span, Activity? rpc, ProbeSummary summary)
    {
        long nonExact = 0;
        foreach (var (klass, count) in summary.Counts)
        {
            if (_probeCases.Enabled && count > 0)
            {
                _probeCases.Add(count, new KeyValuePair<string, object?>(Class, ClassName(klass)));
            }
            if (klass != CaseClass.Exact)
            {
                nonExact += count;
            }
        }
        var injected = (span?.GetTagItem(Injected) ?? rpc?.GetTagItem(Injected)) is true;
        if (nonExact > 0)
        {
            TelemetryLog.ProbeNonExact(_logger, nonExact, summary.Total, injected ? " (some injected)" : "");
        }
        foreach (var activity in new[] { span, rpc })
        {
            if (activity is not { IsAllDataRequested: true })
            {
                continue;
            }
            activity.SetTag(ProbeCases, summary.Total);
            activity.SetTag(ProbeNonExact, nonExact);
            foreach (var (klass, count) in summary.Counts)
            {
                if (klass != CaseClass.Exact && count > 0)
                {
                    activity.SetTag(ProbeClassPrefix + ClassName(klass), count);
                }
            }
            if (nonExact > 0)
            {
                var events = activity.GetTagItem(MismatchCount) is int marked ? marked : 0;
                activity.SetTag(ProbeEventsDropped, Math.Max(0, events - MaxMismatchEvents));
                activity.SetStatus(ActivityStatusCode.Error, $"{nonExact} of {summary.Total} probe cases not EXACT{(injected ? " (some injected)" : "")}");
            }
            else
            {
                activity.SetTag(Mismatch, false);
            }
        }
    }

    /// <summary>Marks a sweep that ended in an exception.</summary>
    public void OnProbeFailed(Activity? span, Exception exception)
    {
        if (span is null)
        {
            return;
        }
        if (span.IsAllDataRequested)
        {
            span.SetTag(ErrorType, exception is PvmdException typed ? typed.Reason : exception.GetType().Name);
        }
        span.SetStatus(ActivityStatusCode.Error, exception is PvmdException ? exception.Message : "the probe failed");
    }

    /// <summary>Marks a mismatch on the syscall span and on the RPC span, counts it, and logs it
    /// (while the syscall span is current, so the log line carries its trace and span ids).</summary>
    internal void OnMismatch(Activity? span, Activity? rpc, ByteCountMismatch mismatch, string syscall, int pid, ulong address)
    {
        if (_mismatches.Enabled)
        {
            _mismatches.Add(1, new(Op, mismatch.Op), new(Class, mismatch.Class), new(Injected, mismatch.Injected));
        }
        Mark(span, mismatch);
        Mark(rpc, mismatch);
        TelemetryLog.ByteCountMismatch(_logger, syscall, pid, Hex(address), mismatch.Returned, mismatch.Actual, mismatch.Class, mismatch.Injected ? " [injected]" : "");
    }

    /// <summary>Puts a mismatch on a span: the event (up to <see cref="MaxMismatchEvents"/>),
    /// the filterable attributes, and the status Error with a short description. A span that
    /// already holds mismatches keeps its first description and counts the rest.</summary>
    internal void Mark(Activity? span, ByteCountMismatch mismatch, ProbeCaseRecord? probeCase = null)
    {
        if (span is not { IsAllDataRequested: true })
        {
            return;
        }
        var count = span.GetTagItem(MismatchCount) is int previous ? previous + 1 : 1;
        span.SetTag(MismatchCount, count);
        if (count <= MaxMismatchEvents)
        {
            var tags = EventTags(mismatch);
            if (probeCase is not null)
            {
                tags[ProbeBefore] = probeCase.Before;
                tags[ProbeAfter] = probeCase.After;
                tags[ProbeMisalignment] = probeCase.Misalignment;
                tags[ProbeLayoutAttribute] = probeCase.LayoutName.Length > 0 ? probeCase.LayoutName : probeCase.Layout.ToString().ToLowerInvariant();
                tags[ProbeShortSide] = probeCase.ShortSide.ToString().ToLowerInvariant();
            }
            span.AddEvent(new ActivityEvent(MismatchEvent, tags: tags));
        }
        if (count == 1)
        {
            span.SetTag(Mismatch, true);
            span.SetStatus(ActivityStatusCode.Error, mismatch.Description);
        }
        if (mismatch.Injected)
        {
            span.SetTag(Injected, true);
        }
    }

    internal ActivityTagsCollection EventTags(ByteCountMismatch mismatch) => new()
    {
        [Returned] = mismatch.Returned,
        [Actual] = mismatch.Actual,
        [ChangedBeyondReturned] = (long)mismatch.ChangedBeyondReturned,
        [UnwrittenBelowReturned] = (long)mismatch.UnwrittenBelowReturned,
        [FirstModifiedOffset] = mismatch.FirstModified,
        [LastModifiedOffset] = mismatch.LastModified,
        [Class] = mismatch.Class,
        [Op] = mismatch.Op,
        [HostArch] = _arch,
        [OsVersion] = _kernel,
        [Injected] = mismatch.Injected,
    };

    /// <summary>The span of one read over the node-local path, where no RPC span exists.</summary>
    public Activity? StartLocalRead(string traceparent, string tracestate) =>
        _source.StartActivity(TelemetryNames.LocalReadSpan, ActivityKind.Server,
            ActivityContext.TryParse(traceparent, string.IsNullOrEmpty(tracestate) ? null : tracestate, out var parent) ? parent : default);

    /// <summary>A child of the current span (the RPC span), started when the call started.</summary>
    internal Activity? StartSpan(string name, DateTimeOffset? start) =>
        start is { } time ? _source.StartActivity(name, ActivityKind.Internal, parentContext: default, tags: null, links: null, startTime: time) : null;

    private void Count(string syscall, string op, int calls, TimeSpan elapsed, int errno)
    {
        if (_calls.Enabled)
        {
            if (errno == 0)
            {
                _calls.Add(calls, new(Syscall, syscall), new(Op, op));
            }
            else
            {
                _calls.Add(calls, new(Syscall, syscall), new(Op, op), new(ErrorType, Core.Interop.Errno.Name(errno)));
            }
        }
        if (_duration.Enabled)
        {
            _duration.Record(elapsed.TotalSeconds, new(Syscall, syscall), new(Op, op));
        }
    }

    /// <summary>The probe's class names as the telemetry writes them: short_dirty, ...</summary>
    internal static string ClassName(CaseClass klass) => klass switch
    {
        CaseClass.Exact => "exact",
        CaseClass.ShortClean => "short_clean",
        CaseClass.ShortDirty => "short_dirty",
        CaseClass.OverReport => "over_report",
        CaseClass.EfaultClean => "efault_clean",
        CaseClass.EfaultDirty => "efault_dirty",
        _ => klass.ToString().ToLowerInvariant(),
    };

    internal static string Hex(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _source.Dispose();
        _meter.Dispose();
    }
}
