using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Pvmd.Core.Procfs;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Range = Pvmd.V1.Range;

namespace Pvmd.Tests.Integration;

/// <summary>What the malformed requests point at: a live target, a zombie, a kernel thread
/// and a pid that names no process.</summary>
public sealed class BadInputFixture : IDisposable
{
    private readonly Process _zombieParent;

    public BadInputFixture()
    {
        Target = TargetProcess.Start(patternPages: 1);
        // The shell starts a child that exits at once, then becomes `sleep`, which never reaps it.
        _zombieParent = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 0 & exec sleep 60"]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("sh did not start");
        ZombiePid = WaitForZombieChild(_zombieParent.Id);
        FreePid = Pids.Free();
        if (ProcStat.TryRead(KernelThreadPid) is not { IsKernelThread: true })
        {
            throw new InvalidOperationException($"pid {KernelThreadPid} is not a kernel thread here");
        }
    }

    public const int KernelThreadPid = 2;

    public TargetProcess Target { get; }

    public int ZombiePid { get; }

    public int FreePid { get; }

    public void Dispose()
    {
        Target.Dispose();
        _zombieParent.Kill();
        _zombieParent.WaitForExit();
        _zombieParent.Dispose();
    }

    private static int WaitForZombieChild(int parent)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var children = File.ReadAllText($"/proc/{parent}/task/{parent}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var child in children)
            {
                var pid = int.Parse(child, CultureInfo.InvariantCulture);
                if (ProcStat.TryRead(pid) is { IsZombie: true })
                {
                    return pid;
                }
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"no zombie child of pid {parent} appeared");
    }
}

/// <summary>Malformed requests: each is refused with its status code and ErrorInfo reason,
/// never UNKNOWN, and the daemon keeps serving after each.</summary>
[Collection(DaemonCollection.Name)]
public sealed class BadInputTests : IClassFixture<BadInputFixture>
{
    private const string InvalidRequest = "INVALID_REQUEST";
    private const ulong GiB = 1UL << 30;

    private static readonly Dictionary<string, BadRequest> s_cases = new BadRequest[]
    {
        new("read: zero length", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, new Range { Address = c.Pattern, Length = 0 })),
        new("read: address + length overflows", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, new Range { Address = ulong.MaxValue - 0xFF, Length = 0x200 })),
        new("read: pid 0", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(new V1.Target { Pid = 0 }, c.PatternRange)),
        new("read: pid -1", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(new V1.Target { Pid = -1 }, c.PatternRange)),
        new("read: no target", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(null, c.PatternRange)),
        new("read: nonexistent pid", StatusCode.NotFound, "ESRCH", c => c.Read(new V1.Target { Pid = c.Fixture.FreePid }, c.PatternRange)),
        new("read: kernel thread", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(new V1.Target { Pid = BadInputFixture.KernelThreadPid }, c.PatternRange)),
        new("read: zombie", StatusCode.NotFound, "ESRCH", c => c.Read(new V1.Target { Pid = c.Fixture.ZombiePid }, c.PatternRange)),
        new("read: no ranges", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self)),
        new("read: 100,001 ranges", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, [.. Enumerable.Repeat(0, 100_001).Select(_ => c.PatternRange)])),
        new("read: range ending exactly at 2^64", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, new Range { Address = ulong.MaxValue - 0xF, Length = 0x10 })),
        new("read: one range above 1 GiB", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, new Range { Address = c.Pattern, Length = GiB + 1 })),
        new("read: ranges adding up to above 1 GiB", StatusCode.InvalidArgument, InvalidRequest, c => c.Read(c.Self, new Range { Address = c.Pattern, Length = GiB / 2 }, new Range { Address = c.Pattern, Length = (GiB / 2) + 1 })),
        new("write: empty data", StatusCode.InvalidArgument, InvalidRequest, c => c.Write(c.Self, c.Scratch, [])),
        new("write: address + length overflows", StatusCode.InvalidArgument, InvalidRequest, c => c.Write(c.Self, ulong.MaxValue - 7, new byte[16])),
        new("write: above the daemon's 16 MiB write limit", StatusCode.InvalidArgument, InvalidRequest, c => c.Write(c.Self, c.Scratch, new byte[(16 << 20) + 1])),
        new("write: pid 0", StatusCode.InvalidArgument, InvalidRequest, c => c.Write(new V1.Target { Pid = 0 }, c.Scratch, [1])),
        new("write: nonexistent pid", StatusCode.NotFound, "ESRCH", c => c.Write(new V1.Target { Pid = c.Fixture.FreePid }, c.Scratch, [1])),
        new("write: kernel thread", StatusCode.InvalidArgument, InvalidRequest, c => c.Write(new V1.Target { Pid = BadInputFixture.KernelThreadPid }, c.Scratch, [1])),
        new("write: zombie", StatusCode.NotFound, "ESRCH", c => c.Write(new V1.Target { Pid = c.Fixture.ZombiePid }, c.Scratch, [1])),
        new("regions: pid -1", StatusCode.InvalidArgument, InvalidRequest, c => c.Regions(new V1.Target { Pid = -1 })),
        new("regions: nonexistent pid", StatusCode.NotFound, "ESRCH", c => c.Regions(new V1.Target { Pid = c.Fixture.FreePid })),
        new("regions: zombie", StatusCode.NotFound, "ESRCH", c => c.Regions(new V1.Target { Pid = c.Fixture.ZombiePid })),
        new("regions: kernel thread", StatusCode.InvalidArgument, InvalidRequest, c => c.Regions(new V1.Target { Pid = BadInputFixture.KernelThreadPid })),
        new("probe: unknown op", StatusCode.InvalidArgument, InvalidRequest, c => c.Probe(new ProbeRequest { Op = (ProbeOp)99 })),
        new("probe: unknown guard", StatusCode.InvalidArgument, InvalidRequest, c => c.Probe(new ProbeRequest { Guard = (GuardKind)42 })),
        new("probe: unknown layout", StatusCode.InvalidArgument, InvalidRequest, c => c.Probe(new ProbeRequest { Layout = (ProbeLayout)7 })),
        new("probe: unknown short side", StatusCode.InvalidArgument, InvalidRequest, c => c.Probe(new ProbeRequest { ShortSide = (ShortSide)9 })),
    }.ToDictionary(c => c.Name);

    private readonly DaemonFixture _daemon;
    private readonly BadInputFixture _fixture;

    public BadInputTests(DaemonFixture daemon, BadInputFixture fixture)
    {
        _daemon = daemon;
        _fixture = fixture;
    }

    public static TheoryData<string> Cases => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task MalformedRequest_IsRefusedWithItsCodeAndReason_AndTheDaemonKeepsServing(string name)
    {
        var badRequest = s_cases[name];
        var context = new CallContext(_daemon.Client, _fixture);

        await Expect.ErrorAsync(() => badRequest.Call(context), badRequest.Code, badRequest.Reason);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await _daemon.CheckHealthAsync());
    }

    [Fact]
    public async Task Target_StillReadableAfterTheRefusals()
    {
        var context = new CallContext(_daemon.Client, _fixture);
        foreach (var badRequest in s_cases.Values)
        {
            // Each refusal is asserted by its own row; here only what follows them matters.
            try
            {
                await badRequest.Call(context);
            }
            catch (RpcException)
            {
            }
        }

        var outcome = await ReadOutcome.ReadAsync(_daemon.Client, new ReadRemoteRequest { Target = context.Self, Ranges = { context.PatternRange } });

        Assert.Equal(context.PatternRange.Length, outcome[0].Result!.BytesRead);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await _daemon.CheckHealthAsync());
    }

    /// <summary>One row of the table.</summary>
    private sealed record BadRequest(string Name, StatusCode Code, string Reason, Func<CallContext, Task> Call);

    /// <summary>The calls a row makes, against the fixture's processes.</summary>
    private sealed class CallContext(RemoteMemory.RemoteMemoryClient client, BadInputFixture fixture)
    {
        public BadInputFixture Fixture => fixture;

        public V1.Target Self => fixture.Target.Target;

        public ulong Pattern => fixture.Target.Pattern.Start;

        public ulong Scratch => fixture.Target.Scratch.Start;

        public Range PatternRange => new() { Address = Pattern, Length = 16 };

        private static DateTime Deadline => DateTime.UtcNow.AddSeconds(30);

        public Task Read(V1.Target? target, params Range[] ranges)
        {
            var request = new ReadRemoteRequest { Target = target };
            request.Ranges.AddRange(ranges);
            return ReadOutcome.ReadAsync(client, request);
        }

        public Task Write(V1.Target target, ulong address, byte[] data) =>
            client.WriteRemoteAsync(new WriteRemoteRequest { Target = target, Address = address, Data = ByteString.CopyFrom(data) }, deadline: Deadline).ResponseAsync;

        public Task Regions(V1.Target target) =>
            client.ListRegionsAsync(new ListRegionsRequest { Target = target }, deadline: Deadline).ResponseAsync;

        public async Task Probe(ProbeRequest request)
        {
            using var call = client.ProbeShortBuffer(request, deadline: Deadline);
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        }
    }
}
