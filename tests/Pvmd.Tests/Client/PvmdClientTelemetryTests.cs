using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Client;

/// <summary>The client's spans, over a fake invoker: what goes on the wire, and what a
/// response's mismatch does to the span. Each test uses a pid of its own and looks only at
/// spans with that pid: other client tests may run meanwhile on the same ActivitySource.</summary>
public sealed class PvmdClientTelemetryTests
{
    [Fact]
    public async Task A_call_is_a_client_span_whose_trace_context_goes_on_the_wire()
    {
        // Arrange
        var (exported, provider) = Tracing();
        using var _ = provider;
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse { Results = { Result(64, 64, mismatch: false) } }] };
        using var client = new PvmdClient(invoker, "unix:/test.sock");

        // Act
        await Drain(client.ReadStreamAsync(new TargetProcess(4101), [new MemoryRange(0x1000, 64)], verify: true));

        // Assert
        var span = Assert.Single(exported, s => s.GetTagItem("pvmd.target.pid") is 4101);
        Assert.Equal("pvmd.v1.RemoteMemory/ReadRemote", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("0x1000", span.GetTagItem("pvmd.address"));
        Assert.Equal(false, span.GetTagItem("pvmd.mismatch"));
        Assert.Empty(span.Events);
        var traceparent = Assert.Single(invoker.Headers)!.Single(h => h.Key == "traceparent").Value;
        Assert.Equal($"00-{span.TraceId}-{span.SpanId}-01", traceparent);
    }

    [Fact]
    public async Task A_mismatch_in_a_range_check_marks_the_client_span()
    {
        var (exported, provider) = Tracing();
        using var _ = provider;
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse { Results = { Result(64, 72, mismatch: true, injected: true) } }] };
        using var client = new PvmdClient(invoker);

        await Drain(client.ReadStreamAsync(new TargetProcess(4102), [new MemoryRange(0x1000, 128)], verify: true));

        var span = Assert.Single(exported, s => s.GetTagItem("pvmd.target.pid") is 4102);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("byte-count mismatch (short_dirty, injected): returned 64, changed 72", span.StatusDescription);
        Assert.Equal(true, span.GetTagItem("pvmd.mismatch"));
        Assert.Equal(true, span.GetTagItem("pvmd.injected"));
        var tags = Assert.Single(span.Events, e => e.Name == PvmdClientTelemetry.MismatchEvent).Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(64L, tags["pvmd.returned"]);
        Assert.Equal(72L, tags["pvmd.actual"]);
        Assert.Equal(8L, tags["pvmd.changed_beyond_returned"]);
        Assert.Equal(71L, tags["pvmd.last_modified_offset"]);
    }

    [Fact]
    public async Task A_write_whose_check_finds_bytes_left_unwritten_is_an_over_report()
    {
        var (exported, provider) = Tracing();
        using var _ = provider;
        var response = new WriteRemoteResponse
        {
            SyscallReturned = 16,
            Check = new WriteCheck { BytesChanged = 14, FirstChangedOffset = 0, FirstDifferingOffset = 14, UnwrittenBelowReturned = 2, Mismatch = true },
        };
        using var client = new PvmdClient(new FakeCallInvoker { Unary = _ => response });

        await client.WriteAsync(new TargetProcess(4103), 0x2000, new byte[16], verify: true);

        var span = Assert.Single(exported, s => s.GetTagItem("pvmd.target.pid") is 4103);
        Assert.Equal("pvmd.v1.RemoteMemory/WriteRemote", span.DisplayName);
        var tags = Assert.Single(span.Events).Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("over_report", tags["pvmd.class"]);
        Assert.Equal(14L, tags["pvmd.actual"]);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
    }

    [Fact]
    public async Task Non_exact_probe_cases_are_events_and_counts_on_the_client_span()
    {
        var (exported, provider) = Tracing();
        using var _ = provider;
        var dirty = new ProbeCase { Op = ProbeOp.Readv, Before = 16, After = 1, Ret = 12, ModifiedCount = 16, FirstModified = 0, LastModified = 15, Class = CaseClass.ShortDirty, Injected = true };
        var summary = new ProbeSummary { Total = 10, Counts = { new ClassCount { Class = CaseClass.Exact, Count = 8 }, new ClassCount { Class = CaseClass.ShortDirty, Count = 2 } } };
        var invoker = new FakeCallInvoker { Stream = [new ProbeResponse { Case = dirty }, new ProbeResponse { Case = dirty }, new ProbeResponse { Summary = summary }] };
        using var client = new PvmdClient(invoker);

        await Drain(client.ProbeAsync(new ProbeRequest { Target = new Target { Pid = 4104 }, RemoteAddress = 0x1000 }));

        var span = Assert.Single(exported, s => s.GetTagItem("pvmd.target.pid") is 4104);
        Assert.Equal(2, span.Events.Count());
        Assert.Equal(2L, span.GetTagItem("pvmd.probe.class.short_dirty"));
        Assert.Equal(2L, span.GetTagItem("pvmd.probe.non_exact"));
        Assert.Equal(10L, span.GetTagItem("pvmd.probe.cases"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
    }

    private static async Task Drain<T>(IAsyncEnumerable<T> stream)
    {
        await foreach (var _ in stream)
        {
        }
    }

    private static (List<Activity> Exported, TracerProvider Provider) Tracing()
    {
        var exported = new List<Activity>();
        var provider = Sdk.CreateTracerProviderBuilder().AddSource(PvmdClientTelemetry.SourceName).AddInMemoryExporter(exported).Build()!;
        return (exported, provider);
    }

    private static RangeResult Result(ulong returned, ulong actual, bool mismatch, bool injected = false) => new()
    {
        RangeIndex = 0,
        Address = 0x1000,
        Length = actual > returned ? 128UL : 64UL,
        BytesRead = returned,
        SyscallReturned = returned,
        Check = new TransferCheck
        {
            Returned = returned,
            Actual = actual,
            ChangedBeyondReturned = actual - returned,
            FirstModifiedOffset = 0,
            LastModifiedOffset = (long)actual - 1,
            Mismatch = mismatch,
            Injected = injected,
        },
    };
}
