extern alias server;

using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pvmd.Core;
using Pvmd.Core.Host;
using Pvmd.Core.Memory;
using Pvmd.Core.Probe;
using server::Pvmd.Server.Telemetry;

namespace Pvmd.Tests.Telemetry;

/// <summary>
/// The daemon's instrumentation in process, exported with the InMemory exporter. The RPC span
/// stands in for ASP.NET Core's server span. The tests of this class run one after another
/// (xUnit never runs a class's tests in parallel): they share the source name Pvmd.Server.
/// </summary>
public sealed class PvmdInstrumentationTests : IDisposable
{
    private static readonly ActivitySource s_rpcSource = new("Pvmd.Tests.Rpc");

    private readonly PvmdInstrumentation _instrumentation = new(HostFacts.Current, NullLogger<PvmdInstrumentation>.Instance);
    private readonly List<Activity> _exported = [];

    public void Dispose() => _instrumentation.Dispose();

    [Fact]
    public void A_mismatching_read_batch_marks_the_syscall_span_and_the_rpc_span()
    {
        // Arrange: the kernel returned 64 while 72 bytes changed.
        using var provider = Tracing();
        var check = new TransferCheck { Returned = 64, Actual = 72, ChangedBeyondReturned = 8, FirstModifiedOffset = 0, LastModifiedOffset = 71 };

        // Act
        Rpc(rpc => _instrumentation.OnReadBatch(rpc, 42, Batch(64, check), _instrumentation.SyscallStart()));

        // Assert
        var (rpcSpan, syscall) = (Span("rpc"), Span(TelemetryNames.ReadSpan));
        Assert.Equal(rpcSpan.SpanId, syscall.ParentSpanId);
        Assert.Equal(rpcSpan.TraceId, syscall.TraceId);
        Assert.Equal(42, syscall.GetTagItem(TelemetryNames.TargetPid));
        Assert.Equal("0x7f0000001000", syscall.GetTagItem(TelemetryNames.Address));
        Assert.Equal(128L, syscall.GetTagItem(TelemetryNames.Requested));
        Assert.Equal(64L, syscall.GetTagItem(TelemetryNames.Returned));
        Assert.Equal(72L, syscall.GetTagItem(TelemetryNames.Actual));
        Assert.Equal(true, syscall.GetTagItem(TelemetryNames.Verified));
        foreach (var span in new[] { syscall, rpcSpan })
        {
            Assert.Equal(ActivityStatusCode.Error, span.Status);
            Assert.Equal("byte-count mismatch (short_dirty): returned 64, changed 72", span.StatusDescription);
            Assert.Equal(true, span.GetTagItem(TelemetryNames.Mismatch));
            var mismatch = Assert.Single(span.Events);
            Assert.Equal(TelemetryNames.MismatchEvent, mismatch.Name);
            var tags = mismatch.Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(64L, tags[TelemetryNames.Returned]);
            Assert.Equal(72L, tags[TelemetryNames.Actual]);
            Assert.Equal(8L, tags[TelemetryNames.ChangedBeyondReturned]);
            Assert.Equal(0L, tags[TelemetryNames.UnwrittenBelowReturned]);
            Assert.Equal(0L, tags[TelemetryNames.FirstModifiedOffset]);
            Assert.Equal(71L, tags[TelemetryNames.LastModifiedOffset]);
            Assert.Equal("short_dirty", tags[TelemetryNames.Class]);
            Assert.Equal(false, tags[TelemetryNames.Injected]);
            Assert.Equal(ResourceFacts.SemanticArch(HostFacts.Current.Arch), tags[TelemetryNames.HostArch]);
            Assert.Equal(HostFacts.Current.KernelRelease, tags[TelemetryNames.OsVersion]);
        }
    }

    [Fact]
    public void A_clean_verified_batch_leaves_no_event_and_no_error()
    {
        using var provider = Tracing();
        var check = new TransferCheck { Returned = 128, Actual = 128, FirstModifiedOffset = 0, LastModifiedOffset = 127 };

        Rpc(rpc => _instrumentation.OnReadBatch(rpc, 42, Batch(128, check), _instrumentation.SyscallStart()));

        var syscall = Span(TelemetryNames.ReadSpan);
        Assert.Equal(false, syscall.GetTagItem(TelemetryNames.Mismatch));
        Assert.Empty(syscall.Events);
        Assert.Equal(ActivityStatusCode.Unset, syscall.Status);
        var rpcSpan = Span("rpc");
        Assert.Empty(rpcSpan.Events);
        Assert.Null(rpcSpan.GetTagItem(TelemetryNames.Mismatch));
        Assert.Equal(ActivityStatusCode.Unset, rpcSpan.Status);
    }

    [Fact]
    public void An_injected_mismatch_is_labelled_injected_everywhere()
    {
        using var provider = Tracing();
        var check = new TransferCheck { Returned = 64, Actual = 72, ChangedBeyondReturned = 8, FirstModifiedOffset = 0, LastModifiedOffset = 71, Injected = true };

        Rpc(rpc => _instrumentation.OnReadBatch(rpc, 42, Batch(64, check), _instrumentation.SyscallStart()));

        foreach (var span in new[] { Span(TelemetryNames.ReadSpan), Span("rpc") })
        {
            Assert.Equal(true, span.GetTagItem(TelemetryNames.Injected));
            Assert.Contains("injected", span.StatusDescription, StringComparison.Ordinal);
            Assert.Equal(true, Assert.Single(span.Events).Tags.Single(t => t.Key == TelemetryNames.Injected).Value);
        }
    }

    [Fact]
    public void Bytes_below_the_count_left_unwritten_are_an_over_report()
    {
        using var provider = Tracing();
        var check = new TransferCheck { Returned = 64, Actual = 60, UnwrittenBelowReturned = 4, FirstModifiedOffset = 0, LastModifiedOffset = 59 };

        Rpc(rpc => _instrumentation.OnReadBatch(rpc, 42, Batch(64, check), _instrumentation.SyscallStart()));

        var mismatch = Assert.Single(Span(TelemetryNames.ReadSpan).Events);
        Assert.Equal("over_report", mismatch.Tags.Single(t => t.Key == TelemetryNames.Class).Value);
    }

    [Fact]
    public void A_mismatching_forced_write_is_a_pwrite_span_with_what_the_snapshots_saw()
    {
        using var provider = Tracing();
        // 16 bytes returned, 2 of them not holding the data, 3 bytes changed past the end.
        var outcome = new WriteOutcome(16, null, new WriteCheck(17, 0, 5, ChangedBeyondReturned: 3, UnwrittenBelowReturned: 2, LastChangedOffset: 18));

        Rpc(rpc => _instrumentation.OnWrite(rpc, 42, 0x7f0000002000, 16, force: true, outcome, _instrumentation.SyscallStart()));

        var write = Span(TelemetryNames.ForcedWriteSpan);
        Assert.Equal(16L, write.GetTagItem(TelemetryNames.Returned));
        var tags = Assert.Single(write.Events).Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(17L, tags[TelemetryNames.Actual]);
        Assert.Equal("over_report", tags[TelemetryNames.Class]);
        Assert.Equal("write", tags[TelemetryNames.Op]);
        Assert.Equal(18L, tags[TelemetryNames.LastModifiedOffset]);
        Assert.Equal(ActivityStatusCode.Error, Span("rpc").Status);
    }

    [Fact]
    public void An_rpc_span_lists_at_most_the_cap_of_mismatch_events_and_counts_them_all()
    {
        using var provider = Tracing();
        var batches = PvmdInstrumentation.MaxMismatchEvents + 50;

        Rpc(rpc =>
        {
            for (var i = 0; i < batches; i++)
            {
                var check = new TransferCheck { Returned = 64, Actual = 65, ChangedBeyondReturned = 1, FirstModifiedOffset = 0, LastModifiedOffset = 64 };
                _instrumentation.OnReadBatch(rpc, 42, Batch(64, check), _instrumentation.SyscallStart());
            }
        });

        var rpcSpan = Span("rpc");
        Assert.Equal(PvmdInstrumentation.MaxMismatchEvents, rpcSpan.Events.Count());
        Assert.Equal(batches, rpcSpan.GetTagItem(TelemetryNames.MismatchCount));
    }

    [Fact]
    public void A_span_that_only_propagates_gets_no_tags_and_no_events()
    {
        // Arrange: a listener that keeps the RPC span but samples the syscall span out
        // (IsAllDataRequested false): its tags and events would be wasted work.
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source == _instrumentation.ActivitySource || source == s_rpcSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Source == s_rpcSource ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var check = new TransferCheck { Returned = 64, Actual = 72, ChangedBeyondReturned = 8, FirstModifiedOffset = 0, LastModifiedOffset = 71 };

        // Act
        Rpc(rpc => _instrumentation.OnReadBatch(rpc, 42, Batch(64, check), _instrumentation.SyscallStart()));

        // Assert
        var syscall = stopped.Single(a => a.Source == _instrumentation.ActivitySource);
        Assert.False(syscall.IsAllDataRequested);
        Assert.Empty(syscall.TagObjects);
        Assert.Empty(syscall.Events);
        var rpcSpan = stopped.Single(a => a.Source == s_rpcSource);
        Assert.Single(rpcSpan.Events);
    }

    [Fact]
    public void With_nobody_listening_a_batch_costs_no_allocation()
    {
        // Arrange: no tracer or meter provider; the source has no listener.
        var check = new TransferCheck { Returned = 128, Actual = 128, FirstModifiedOffset = 0, LastModifiedOffset = 127 };
        var batch = Batch(128, check);
        _instrumentation.OnReadBatch(null, 42, batch, _instrumentation.SyscallStart());

        // Act
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _instrumentation.OnReadBatch(null, 42, batch, _instrumentation.SyscallStart());
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Assert
        Assert.Null(_instrumentation.SyscallStart());
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_refused_call_is_an_error_span_with_the_errno()
    {
        using var provider = Tracing();

        Rpc(rpc => _instrumentation.OnSyscallFailed(TelemetryNames.ReadSpan, "read", 42, new AccessDeniedException("EPERM", DenialCause.Kernel, "refused"), _instrumentation.SyscallStart()));

        var syscall = Span(TelemetryNames.ReadSpan);
        Assert.Equal(ActivityStatusCode.Error, syscall.Status);
        Assert.Equal("EPERM", syscall.GetTagItem(TelemetryNames.ErrorType));
    }

    [Fact]
    public void A_probe_sweep_is_one_span_with_capped_case_events_and_counts_per_class()
    {
        // Arrange: 150 injected SHORT_DIRTY cases among 160.
        using var provider = Tracing();
        var record = new ProbeCaseRecord
        {
            Op = ProbeOp.Readv,
            Layout = ProbeLayout.Single,
            Guard = GuardKind.ProtNone,
            ShortSide = ShortSide.Local,
            LayoutName = "",
            Before = 16,
            After = 1,
            Misalignment = 3,
            Measurement = new CaseMeasurement(new RunResult(12, 0), new RunResult(12, 0), 16, 16, 0, 15, 4, 0, 0),
            ModifiedBeyondRanges = [],
            SourceChanged = false,
            Injected = true,
        };
        var counts = Enum.GetValues<CaseClass>().ToDictionary(c => c, c => c switch { CaseClass.Exact => 10L, CaseClass.ShortDirty => 150L, _ => 0L });

        // Act
        Rpc(rpc =>
        {
            using var probe = _instrumentation.StartProbe(new ProbeSweep { Op = ProbeOp.Readv });
            for (var i = 0; i < 150; i++)
            {
                _instrumentation.OnProbeCase(probe, rpc, record);
            }
            _instrumentation.OnProbeSummary(probe, rpc, new ProbeSummary(160, counts, 0.1, 1234, HostFacts.Current));
        });

        // Assert
        foreach (var span in new[] { Span(TelemetryNames.ProbeSpan), Span("rpc") })
        {
            Assert.Equal(PvmdInstrumentation.MaxMismatchEvents, span.Events.Count());
            Assert.Equal(150L, span.GetTagItem(TelemetryNames.ProbeClassPrefix + "short_dirty"));
            Assert.Equal(150L, span.GetTagItem(TelemetryNames.ProbeNonExact));
            Assert.Equal(50, span.GetTagItem(TelemetryNames.ProbeEventsDropped));
            Assert.Equal(ActivityStatusCode.Error, span.Status);
            Assert.Equal("150 of 160 probe cases not EXACT (some injected)", span.StatusDescription);
            var tags = span.Events.First().Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal(12L, tags[TelemetryNames.Returned]);
            Assert.Equal(16L, tags[TelemetryNames.Actual]);
            Assert.Equal("probe_readv", tags[TelemetryNames.Op]);
            Assert.Equal(true, tags[TelemetryNames.Injected]);
            Assert.Equal(3, tags[TelemetryNames.ProbeMisalignment]);
        }
        Assert.Equal(Span("rpc").SpanId, Span(TelemetryNames.ProbeSpan).ParentSpanId);
    }

    [Fact]
    public void Metrics_count_bytes_calls_and_mismatches_by_class_and_op()
    {
        // Arrange
        var metrics = new List<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(TelemetryNames.Source).AddInMemoryExporter(metrics).Build();
        var check = new TransferCheck { Returned = 64, Actual = 72, ChangedBeyondReturned = 8, FirstModifiedOffset = 0, LastModifiedOffset = 71, Injected = true };

        // Act
        _instrumentation.OnReadBatch(null, 42, Batch(64, check), null);
        provider.ForceFlush();

        // Assert
        Assert.Equal(64, Sum(metrics, TelemetryNames.ReadBytes));
        Assert.Equal(2, Sum(metrics, TelemetryNames.SyscallCalls));
        var mismatches = metrics.Single(m => m.Name == TelemetryNames.Mismatches);
        var point = Assert.Single(mismatches.MetricPoints);
        Assert.Equal(1, point.GetSumLong());
        var tags = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value;
        }
        Assert.Equal("read", tags[TelemetryNames.Op]);
        Assert.Equal("short_dirty", tags[TelemetryNames.Class]);
        Assert.Equal(true, tags[TelemetryNames.Injected]);
        var duration = metrics.Single(m => m.Name == TelemetryNames.SyscallDuration);
        Assert.Equal("s", duration.Unit);
        Assert.Equal(1, Assert.Single(duration.MetricPoints).GetHistogramCount());
    }

    private TracerProvider Tracing() =>
        Sdk.CreateTracerProviderBuilder().AddSource(TelemetryNames.Source, s_rpcSource.Name).AddInMemoryExporter(_exported).Build()!;

    private static void Rpc(Action<Activity?> body)
    {
        using var rpc = s_rpcSource.StartActivity("rpc", ActivityKind.Server);
        body(rpc);
    }

    private Activity Span(string name) => Assert.Single(_exported, a => a.DisplayName == name);

    /// <summary>A batch of one 128-byte iovec; the engine's piece covers what the kernel returned.</summary>
    private static ReadBatch Batch(long returned, TransferCheck check)
    {
        var batch = new ReadBatch
        {
            Address = 0x7f0000001000,
            Iovecs = 1,
            Requested = 128,
            Returned = returned,
            Check = check,
            SyscallTime = TimeSpan.FromMicroseconds(3),
        };
        batch.Pieces.Add(new ReadPiece(0, 0x7f0000001000, new byte[returned]));
        return batch;
    }

    private static long Sum(List<MetricSnapshot> metrics, string name)
    {
        long total = 0;
        foreach (var point in metrics.Single(m => m.Name == name).MetricPoints)
        {
            total += point.GetSumLong();
        }
        return total;
    }
}
