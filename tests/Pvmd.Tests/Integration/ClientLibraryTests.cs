using Grpc.Core;
using Pvmd.Client;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Lib = Pvmd.Client;
using Target = Pvmd.Tests.Infrastructure.TargetProcess;

namespace Pvmd.Tests.Integration;

/// <summary>The .NET client library (PvmdClient) against the real daemon: what an application
/// gets back, and the typed exceptions it catches. The other integration tests speak the raw
/// contract, where message sizes and chunk order are visible.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ClientLibraryTests : IClassFixture<TargetFixture>, IDisposable
{
    private readonly Target _target;
    private readonly PvmdClient _client;
    private readonly ulong _page;

    public ClientLibraryTests(DaemonFixture daemon, TargetFixture target)
    {
        _target = target.Target;
        _client = PvmdClient.ForSocket(daemon.SocketPath);
        _page = (ulong)_target.PageSize;
    }

    private Lib.TargetProcess Pinned => new(_target.Pid, _target.StartTime);

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task ReadAsync_WholePattern_IsCompleteAndExact()
    {
        var range = await _client.ReadAsync(Pinned, _target.Pattern.Start, _target.Pattern.Length);

        Assert.True(range.IsComplete, $"{range.Result}");
        Assert.False(range.HasMismatch);
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, 0, (int)_target.Pattern.Length), Bytes(range));
    }

    [Fact]
    public async Task ReadAsync_SeveralRanges_ComeBackInRequestOrderWithTheirHoles()
    {
        MemoryRange[] ranges =
        [
            new(_target.Hole.Start + _page - 8, _page + 16),
            new(_target.ReadOnly.Start, 32),
            new(_target.ProtNone.Start + _page - 4, 8),
        ];

        var results = await _client.ReadAsync(Pinned, ranges, verify: true);

        Assert.Equal([0, 1, 2], results.Select(r => r.Index));
        Assert.Equal(StopReason.Unmapped, results[0].Result.StopReason);
        Assert.Equal(16UL, results[0].Result.BytesRead);
        Assert.Equal(
            [.. TestPattern.Bytes(TestPattern.HoleSeed, _page - 8, 8), .. TestPattern.Bytes(TestPattern.HoleSeed, 2 * _page, 8)],
            Bytes(results[0]));
        Assert.True(results[1].IsComplete);
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0, 32), Bytes(results[1]));
        Assert.Equal(StopReason.Protection, results[2].Result.StopReason);
        Assert.Equal(TestPattern.Bytes(TestPattern.ProtNoneSeed, _page - 4, 4), Bytes(results[2]));
        Assert.All(results, r => Assert.False(r.HasMismatch));
    }

    [Fact]
    public async Task WriteAsync_WithVerify_ChangesTheTarget()
    {
        var address = _target.Scratch.Start + 0x900;
        byte[] data = [0xC0, 0xFF, 0xEE, 0x11];

        var response = await _client.WriteAsync(Pinned, address, data, verify: true);

        Assert.Equal(4UL, response.SyscallReturned);
        Assert.Equal(4UL, response.Check.BytesChanged);
        Assert.False(response.Check.Mismatch);
        Assert.Equal(data, _target.Dump(address, 4));
    }

    [Fact]
    public async Task ListProcessesAsync_FindsTheTarget_AndItsEntryPinsLaterCalls()
    {
        var processes = await _client.ListProcessesAsync(new ProcessFilter(Name: "pvmd-test-targ*"));
        var process = Assert.Single(processes, p => p.Pid == _target.Pid);

        var regions = await _client.ListRegionsAsync(Lib.TargetProcess.From(process));

        Assert.Equal(_target.StartTime, process.StartTime);
        Assert.Contains(regions, r => r.Start == _target.ReadOnly.Start && r.Permissions == "r-xp");
    }

    [Fact]
    public async Task GetPlatformAsync_GivesThePageSize()
    {
        var platform = await _client.GetPlatformAsync();

        Assert.Equal((uint)Environment.SystemPageSize, platform.PageSize);
    }

    [Fact]
    public async Task NonexistentPid_IsTargetNotFoundException()
    {
        var missing = new Lib.TargetProcess(Pids.Free());

        var error = await Assert.ThrowsAsync<Lib.TargetNotFoundException>(() => _client.ReadAsync(missing, 0x1000, 16));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("ESRCH", error.Reason);
    }

    [Fact]
    public async Task WrongStartTime_IsTargetChangedException()
    {
        var stale = new Lib.TargetProcess(_target.Pid, _target.StartTime + 1);

        var error = await Assert.ThrowsAsync<Lib.TargetChangedException>(() => _client.ListRegionsAsync(stale));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("PID_REUSED", error.Reason);
    }

    [Fact]
    public async Task KernelThread_IsInvalidRequestException()
    {
        var error = await Assert.ThrowsAsync<Lib.InvalidRequestException>(() => _client.ReadAsync(new Lib.TargetProcess(2), 0x1000, 16));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("INVALID_REQUEST", error.Reason);
    }

    [Fact]
    public async Task NoDaemon_IsDaemonUnavailableException()
    {
        using var nowhere = PvmdClient.ForSocket(Path.Combine(Path.GetTempPath(), $"pvmd-absent-{Guid.NewGuid():N}.sock"));

        await Assert.ThrowsAsync<DaemonUnavailableException>(() => nowhere.GetPlatformAsync());
    }

    private static byte[] Bytes(RangeReadResult range) => [.. range.Chunks.SelectMany(c => c.Data)];
}
