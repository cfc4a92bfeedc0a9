using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Xunit.Abstractions;

namespace Pvmd.Tests.Reliability;

/// <summary>A daemon and a target shared by the bad-input table, with a kernel thread and a
/// zombie to aim at.</summary>
public sealed class BadInputFixture : IAsyncLifetime
{
    public DaemonFixture Daemon { get; } = new();

    public TargetProcess Target { get; private set; } = null!;

    public Zombie Zombie { get; private set; } = null!;

    public int KernelThread { get; } = HostProcesses.FindKernelThread();

    public async Task InitializeAsync()
    {
        await Daemon.InitializeAsync();
        Target = TargetProcess.Start();
        Zombie = await Zombie.StartAsync();
    }

    public async Task DisposeAsync()
    {
        Zombie.Dispose();
        Target.Dispose();
        await Daemon.DisposeAsync();
    }
}

/// <summary>
/// Malformed and hostile requests, each with the status the contract documents for it. The
/// daemon answers every one with that status (never UNKNOWN, never a crash), and after the
/// whole table it still serves and its memory is bounded.
/// </summary>
public sealed class BadInputTests(BadInputFixture fixture, ITestOutputHelper output) : IClassFixture<BadInputFixture>
{
    /// <summary>The daemon's peak resident memory after the table stays below this.</summary>
    public const long RssBoundKilobytes = 400 * 1024;

    private const ulong GiB = 1UL << 30;

    /// <summary>One hostile request: what it sends and which status it must get.</summary>
    public sealed record Case(string Name, StatusCode Expected, Func<Context, Task> Call);

    /// <summary>What a case can aim at.</summary>
    public sealed record Context(RemoteMemory.RemoteMemoryClient Client, RawGrpc Raw, TargetProcess Target, int KernelThread, int Zombie);

    public static IReadOnlyList<Case> Table { get; } = BuildTable();

    public static TheoryData<string> Names => [.. Table.Select(c => c.Name)];

    [Fact]
    public void TheTableHasAtLeastFortyCases() => Assert.True(Table.Count >= 40, $"{Table.Count} cases");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task EachBadInputGetsItsDocumentedStatus(string name)
    {
        var entry = Table.Single(c => c.Name == name);
        var actual = await Run(entry);
        Assert.True(entry.Expected == actual, $"{name}: expected {entry.Expected}, got {actual}\n{fixture.Daemon.Log}");
    }

    [Fact]
    public async Task AfterTheWholeTable_TheDaemonServesAndItsMemoryIsBounded()
    {
        var clock = Stopwatch.StartNew();
        var mismatches = new List<string>();
        foreach (var entry in Table)
        {
            var actual = await Run(entry);
            if (actual != entry.Expected)
            {
                mismatches.Add($"{entry.Name}: expected {entry.Expected}, got {actual}");
            }
        }
        Assert.Empty(mismatches);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, await fixture.Daemon.CheckHealthAsync());
        // A normal read still returns the right bytes.
        var read = await ReadOutcome.ReadAsync(fixture.Daemon.Client, new ReadRemoteRequest { Target = fixture.Target.Target, Ranges = { new V1.Range { Address = fixture.Target.Pattern.Start, Length = 4096 } } });
        Expect.Chunks(read[0], fixture.Target.Pattern.Start, 4096, fixture.Target.Pattern, Pvmd.TestTarget.TestPattern.PatternSeed);
        var memory = HostProcesses.Memory(fixture.Daemon.Pid);
        output.WriteLine($"{Table.Count} bad inputs in {clock.Elapsed.TotalSeconds:F1} s; daemon RSS {memory.ResidentKilobytes} kB, peak {memory.PeakKilobytes} kB");
        Assert.True(memory.PeakKilobytes < RssBoundKilobytes, $"daemon peak RSS {memory.PeakKilobytes} kB, bound {RssBoundKilobytes} kB");
    }

    private async Task<StatusCode> Run(Case entry)
    {
        using var raw = new RawGrpc(fixture.Daemon.SocketPath);
        var context = new Context(fixture.Daemon.Client, raw, fixture.Target, fixture.KernelThread, fixture.Zombie.Pid);
        try
        {
            await entry.Call(context);
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            Assert.NotEqual(StatusCode.Unknown, e.StatusCode);
            return e.StatusCode;
        }
    }

    private static async Task Read(Context c, ReadRemoteRequest request)
    {
        var outcome = await ReadOutcome.ReadAsync(c.Client, request);
        // A request that succeeds gets exactly one result per range.
        Assert.Equal(request.Ranges.Count, outcome.ResultOrder.Count);
    }

    private static Task Read(Context c, Target? target, params (ulong Address, ulong Length)[] ranges)
    {
        var request = new ReadRemoteRequest { Target = target };
        request.Ranges.Add(ranges.Select(r => new V1.Range { Address = r.Address, Length = r.Length }));
        return Read(c, request);
    }

    private static Task Write(Context c, Target? target, ulong address, int length, bool force = false) =>
        c.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target, Address = address, Data = ByteString.CopyFrom(new byte[length]), Force = force }).ResponseAsync;

    private static Task Regions(Context c, Target? target) => c.Client.ListRegionsAsync(new ListRegionsRequest { Target = target }).ResponseAsync;

    private static async Task Probe(Context c, ProbeRequest request)
    {
        using var call = c.Client.ProbeShortBuffer(request, deadline: DateTime.UtcNow.AddSeconds(60));
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
        }
    }

    /// <summary>A raw call: its gRPC status becomes an RpcException like a generated client's.</summary>
    private static async Task Raw(Context c, string method, byte[] body, string contentType = "application/grpc")
    {
        var answer = await c.Raw.CallAsync(method, body, contentType);
        var code = (StatusCode)(answer.GrpcStatus ?? (int)StatusCode.Unknown);
        if (code != StatusCode.OK)
        {
            throw new RpcException(new Status(code, answer.Message ?? ""));
        }
    }

    private static Target Pid(int pid) => new() { Pid = pid };

    private static List<Case> BuildTable()
    {
        const string ReadMethod = "/pvmd.v1.RemoteMemory/ReadRemote";
        const string RegionsMethod = "/pvmd.v1.RemoteMemory/ListRegions";
        var readRequest = new ReadRemoteRequest { Target = Pid(1), Ranges = { new V1.Range { Address = 0x1000, Length = 16 } } }.ToByteArray();
        var stale = (ulong)1;
        return
        [
            // ReadRemote: targets.
            new("read: no target", StatusCode.InvalidArgument, c => Read(c, null, (c.Target.Pattern.Start, 16))),
            new("read: pid 0", StatusCode.InvalidArgument, c => Read(c, Pid(0), (c.Target.Pattern.Start, 16))),
            new("read: pid -1", StatusCode.InvalidArgument, c => Read(c, Pid(-1), (c.Target.Pattern.Start, 16))),
            new("read: pid int.MinValue", StatusCode.InvalidArgument, c => Read(c, Pid(int.MinValue), (c.Target.Pattern.Start, 16))),
            new("read: pid that does not exist", StatusCode.NotFound, c => Read(c, Pid(int.MaxValue), (0x1000, 16))),
            new("read: kernel thread", StatusCode.InvalidArgument, c => Read(c, Pid(c.KernelThread), (0x1000, 16))),
            new("read: zombie", StatusCode.NotFound, c => Read(c, Pid(c.Zombie), (0x1000, 16))),
            new("read: wrong start time", StatusCode.FailedPrecondition, c => Read(c, new Target { Pid = c.Target.Pid, StartTime = c.Target.StartTime + stale }, (c.Target.Pattern.Start, 16))),
            // ReadRemote: ranges.
            new("read: no ranges", StatusCode.InvalidArgument, c => Read(c, c.Target.Target)),
            new("read: zero length", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (c.Target.Pattern.Start, 0))),
            new("read: range wraps past 2^64", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (ulong.MaxValue - 15, 32))),
            new("read: address above 2^63 (a hole, served)", StatusCode.OK, c => Read(c, c.Target.Target, (1UL << 63, 16))),
            new("read: kernel address (a hole, served)", StatusCode.OK, c => Read(c, c.Target.Target, (0xffffffffff600000, 16))),
            new("read: range across 2^63 (a hole, served)", StatusCode.OK, c => Read(c, c.Target.Target, ((ulong)long.MaxValue - 7, 16))),
            new("read: range ending exactly at 2^64", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (ulong.MaxValue - 15, 16))),
            new("read: length max-bytes + 1", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (c.Target.Pattern.Start, GiB + 1))),
            new("read: length 2^64 - 1", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (c.Target.Pattern.Start, ulong.MaxValue))),
            new("read: ranges add up past max-bytes", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, (0x1000, 600UL << 20), (0x1000, 600UL << 20))),
            new("read: 100,001 ranges", StatusCode.InvalidArgument, c => Read(c, c.Target.Target, [.. Enumerable.Repeat((c.Target.Pattern.Start, 1UL), 100_001)])),
            new("read: 100,000 one-byte ranges (the maximum, served)", StatusCode.OK, c => Read(c, c.Target.Target, [.. Enumerable.Range(0, 100_000).Select(i => (c.Target.Pattern.Start + (ulong)(i % 4096), 1UL))])),
            new("read: address 0 (a hole, served)", StatusCode.OK, c => Read(c, c.Target.Target, (0, 4096))),
            new("read: 1 GiB of mostly unmapped space (served)", StatusCode.OK, c => Read(c, c.Target.Target, (0x10000, GiB))),
            new("read: verify into PROT_NONE (served)", StatusCode.OK, c => Read(c, new ReadRemoteRequest { Target = c.Target.Target, Verify = true, Ranges = { new V1.Range { Address = c.Target.ProtNone.Start, Length = c.Target.ProtNone.Length } } })),
            // WriteRemote.
            new("write: no target", StatusCode.InvalidArgument, c => Write(c, null, c.Target.Scratch.Start, 8)),
            new("write: empty data", StatusCode.InvalidArgument, c => Write(c, c.Target.Target, c.Target.Scratch.Start, 0)),
            new("write: pid 0", StatusCode.InvalidArgument, c => Write(c, Pid(0), c.Target.Scratch.Start, 8)),
            new("write: pid that does not exist", StatusCode.NotFound, c => Write(c, Pid(int.MaxValue), 0x1000, 8)),
            new("write: kernel thread", StatusCode.InvalidArgument, c => Write(c, Pid(c.KernelThread), 0x1000, 8)),
            new("write: zombie", StatusCode.NotFound, c => Write(c, Pid(c.Zombie), 0x1000, 8)),
            new("write: wrong start time", StatusCode.FailedPrecondition, c => Write(c, new Target { Pid = c.Target.Pid, StartTime = c.Target.StartTime + stale }, c.Target.Scratch.Start, 8)),
            new("write: wraps past 2^64", StatusCode.InvalidArgument, c => Write(c, c.Target.Target, ulong.MaxValue - 2, 16)),
            new("write: kernel address through /proc/PID/mem (nothing written, served)", StatusCode.OK, c => Write(c, c.Target.Target, 0xffffffffff600000, 8, force: true)),
            new("write: max-write-bytes + 1", StatusCode.InvalidArgument, c => Write(c, c.Target.Target, c.Target.Scratch.Start, (16 << 20) + 1)),
            new("write: 20 MiB message (above the receive limit)", StatusCode.ResourceExhausted, c => Write(c, c.Target.Target, c.Target.Scratch.Start, 20 << 20)),
            new("write: unmapped address (served, nothing written)", StatusCode.OK, c => Write(c, c.Target.Target, c.Target.Hole.Start + (ulong)c.Target.PageSize, 8)),
            // ListRegions.
            new("regions: no target", StatusCode.InvalidArgument, c => Regions(c, null)),
            new("regions: pid -5", StatusCode.InvalidArgument, c => Regions(c, Pid(-5))),
            new("regions: pid that does not exist", StatusCode.NotFound, c => Regions(c, Pid(int.MaxValue))),
            new("regions: kernel thread", StatusCode.InvalidArgument, c => Regions(c, Pid(c.KernelThread))),
            new("regions: zombie", StatusCode.NotFound, c => Regions(c, Pid(c.Zombie))),
            // ListProcesses: odd filters are filters, not errors.
            new("processes: junk glob (served)", StatusCode.OK, c => c.Client.ListProcessesAsync(new ListProcessesRequest { Name = "[[**??\\" }).ResponseAsync),
            new("processes: 1 MiB command-line filter (served)", StatusCode.OK, c => c.Client.ListProcessesAsync(new ListProcessesRequest { CmdlineContains = new string('x', 1 << 20) }).ResponseAsync),
            // ProbeShortBuffer: unknown enum values and impossible sweeps.
            new("probe: unknown op", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { Op = (ProbeOp)99 })),
            new("probe: unknown guard", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { Guard = (GuardKind)7 })),
            new("probe: unknown layout", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { Layout = (ProbeLayout)(-3) })),
            new("probe: unknown short side", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { ShortSide = (ShortSide)12345 })),
            new("probe: negative B", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { Before = new IntRange { Min = -5, Max = 3 } })),
            new("probe: min above max", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { After = new IntRange { Min = 9, Max = 2 } })),
            new("probe: too many cases", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { Before = new IntRange { Min = 0, Max = 4000 }, After = new IntRange { Min = 1, Max = 4000 }, Misalignment = new IntRange { Min = 0, Max = 15 } })),
            new("probe: remote address without a target", StatusCode.InvalidArgument, c => Probe(c, new ProbeRequest { RemoteAddress = 0x1000 })),
            new("probe: target that does not exist", StatusCode.NotFound, c => Probe(c, new ProbeRequest { Target = Pid(int.MaxValue), RemoteAddress = 0x1000 })),
            // Raw HTTP/2 frames: what no generated client sends.
            new("raw: truncated protobuf", StatusCode.Internal, c => Raw(c, ReadMethod, RawGrpc.Frame(readRequest.AsSpan(0, readRequest.Length - 3)))),
            new("raw: invalid wire type", StatusCode.Internal, c => Raw(c, RegionsMethod, RawGrpc.Frame([0xff, 0xff, 0xff, 0xff, 0x0f]))),
            new("raw: length prefix beyond the body", StatusCode.Internal, c => Raw(c, RegionsMethod, RawGrpc.Frame(new byte[10], declaredLength: 100))),
            new("raw: length prefix of 4 GiB", StatusCode.Internal, c => Raw(c, RegionsMethod, RawGrpc.Frame(new byte[10], declaredLength: uint.MaxValue))),
            new("raw: 17 MiB message", StatusCode.ResourceExhausted, c => Raw(c, RegionsMethod, RawGrpc.Frame(new byte[17 << 20]))),
            new("raw: compressed flag without an encoding", StatusCode.Internal, c => Raw(c, RegionsMethod, RawGrpc.Frame([8, 1], compressed: 1))),
            new("raw: two messages to a unary method", StatusCode.Internal, c => Raw(c, RegionsMethod, [.. RawGrpc.Frame([8, 1]), .. RawGrpc.Frame([8, 1])])),
            new("raw: no message at all", StatusCode.Internal, c => Raw(c, RegionsMethod, [])),
            new("raw: unknown method", StatusCode.Unimplemented, c => Raw(c, "/pvmd.v1.RemoteMemory/Nope", RawGrpc.Frame([]))),
            new("raw: unknown service", StatusCode.Unimplemented, c => Raw(c, "/pvmd.v2.Other/Read", RawGrpc.Frame([]))),
            new("raw: content type text/plain", StatusCode.Internal, c => Raw(c, RegionsMethod, RawGrpc.Frame([]), "text/plain")),
            new("raw: unknown field numbers (ignored, served)", StatusCode.OK, c => Raw(c, "/pvmd.v1.RemoteMemory/GetPlatform", RawGrpc.Frame([0xf8, 0x06, 0x01]))),
            new("raw: pid as a 10-byte varint (-1)", StatusCode.InvalidArgument, c => Raw(c, RegionsMethod, RawGrpc.Frame([0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))),
        ];
    }
}
