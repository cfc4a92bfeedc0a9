using Google.Protobuf;
using Grpc.Core;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Reliability;

/// <summary>
/// Faults while calls are running: the target unmaps memory or exits in the middle of a read
/// or a write, the client goes away, the deadline passes, the daemon is told to stop, or dies
/// and leaves its socket behind. Each ends in a partial but exact result or a clean status,
/// and the daemon goes on serving.
/// </summary>
public sealed class FaultTests
{
    private const int BigPatternPages = 16384; // 64 MiB

    private static ReadRemoteRequest WholePattern(TargetProcess target) =>
        new() { Target = target.Target, Ranges = { new V1.Range { Address = target.Pattern.Start, Length = target.Pattern.Length } } };

    [Fact]
    public async Task TargetUnmapsMemoryMidRead_PartialResultWithExactCounts()
    {
        await using var daemon = await DaemonFixture.StartAsync([]);
        using var target = TargetProcess.Start(BigPatternPages);
        var request = WholePattern(target);
        using var call = daemon.Client.ReadRemote(request);
        var outcome = new ReadOutcome();
        Assert.True(await call.ResponseStream.MoveNext());
        outcome.Add(call.ResponseStream.Current);

        target.Unmap("pattern");
        while (await call.ResponseStream.MoveNext())
        {
            outcome.Add(call.ResponseStream.Current);
        }

        var range = outcome[0];
        var result = range.Result!;
        Assert.Equal(target.Pattern.Length, result.BytesRead + result.UnreadableBytes);
        Assert.Equal((ulong)range.DeliveredBytes, result.BytesRead);
        Assert.True(result.BytesRead > 0 && result.UnreadableBytes > 0, $"read {result.BytesRead}, unreadable {result.UnreadableBytes}");
        Assert.Equal(V1.StopReason.Unmapped, result.StopReason);
        Assert.Equal(result.UnreadableBytes, result.Holes.Aggregate(0UL, (sum, h) => sum + h.Length));
        // Every delivered byte is the target's, none is filled in.
        Expect.Chunks(range, target.Pattern.Start, target.Pattern.Length, target.Pattern, TestPattern.PatternSeed);
    }

    [Fact]
    public async Task TargetExitsMidRead_StreamEndsWithProcessGoneOrNotFound()
    {
        await using var daemon = await DaemonFixture.StartAsync([]);
        using var target = TargetProcess.Start(BigPatternPages);
        using var call = daemon.Client.ReadRemote(WholePattern(target));
        var outcome = new ReadOutcome();
        Assert.True(await call.ResponseStream.MoveNext());
        outcome.Add(call.ResponseStream.Current);

        target.Kill();
        while (await call.ResponseStream.MoveNext())
        {
            outcome.Add(call.ResponseStream.Current);
        }

        var result = outcome[0].Result!;
        Assert.Equal(target.Pattern.Length, result.BytesRead + result.UnreadableBytes);
        Assert.Contains(result.Holes, h => h.Reason == V1.StopReason.ProcessGone);
        Expect.Chunks(outcome[0], target.Pattern.Start, target.Pattern.Length, target.Pattern, TestPattern.PatternSeed);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, await daemon.CheckHealthAsync());
    }

    [Fact]
    public async Task TargetUnmapsOrExitsDuringWrites_CountsStayExact()
    {
        await using var daemon = await DaemonFixture.StartAsync([]);
        using var target = TargetProcess.Start(4096); // 16 MiB
        var data = ByteString.CopyFrom(new byte[8 << 20]);
        var writes = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                var response = await daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.Pattern.Start + (ulong)(i % 2 * (8 << 20)), Data = data, Force = i % 3 == 0 });
                Assert.True(response.SyscallReturned <= (ulong)data.Length);
                if (response.SyscallReturned < (ulong)data.Length)
                {
                    Assert.True(response.HasStopAddress);
                    Assert.Equal(target.Pattern.Start + (ulong)(i % 2 * (8 << 20)) + response.SyscallReturned, response.StopAddress);
                }
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        })).ToList();

        target.Unmap("pattern");
        target.Kill();
        var codes = await Task.WhenAll(writes);

        Assert.All(codes, c => Assert.Contains(c, new[] { StatusCode.OK, StatusCode.NotFound }));
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, await daemon.CheckHealthAsync());
    }

    [Fact]
    public async Task ClientCancelsMidStream_TheDaemonFreesTheCall()
    {
        // One call per caller at a time: the next call succeeds only if the cancelled one is gone.
        await using var daemon = await DaemonFixture.StartAsync(["--max-concurrent-per-caller", "1"]);
        using var target = TargetProcess.Start(BigPatternPages);
        using (var cancellation = new CancellationTokenSource())
        {
            using var call = daemon.Client.ReadRemote(WholePattern(target), cancellationToken: cancellation.Token);
            Assert.True(await call.ResponseStream.MoveNext());
            cancellation.Cancel();
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        }

        await RetryUntilFreeAsync(() => daemon.Client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync);
    }

    [Fact]
    public async Task DeadlinePasses_TheReadLoopStops()
    {
        await using var daemon = await DaemonFixture.StartAsync(["--max-concurrent-per-caller", "1"]);
        using var target = TargetProcess.Start(BigPatternPages);
        using var call = daemon.Client.ReadRemote(WholePattern(target), deadline: DateTime.UtcNow.AddSeconds(2));

        // Read one message at most, then stop reading: the daemon blocks on flow control until
        // the deadline cancels the call.
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await call.ResponseStream.MoveNext();
            await Task.Delay(3000);
            while (await call.ResponseStream.MoveNext())
            {
            }
        });
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await RetryUntilFreeAsync(() => daemon.Client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync);
    }

    [Fact]
    public async Task ProbesThroughTheDaemon_LeaveNoChildBehind()
    {
        await using var daemon = await DaemonFixture.StartAsync([]);
        var small = new ProbeRequest { Before = new IntRange { Min = 0, Max = 8 }, After = new IntRange { Min = 1, Max = 4 }, Misalignment = new IntRange { Min = 0, Max = 1 } };

        using (var call = daemon.Client.ProbeShortBuffer(small))
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        }
        using (var cancellation = new CancellationTokenSource())
        {
            using var call = daemon.Client.ProbeShortBuffer(new ProbeRequest { IncludeExact = true, ProgressEvery = 1 }, cancellationToken: cancellation.Token);
            Assert.True(await call.ResponseStream.MoveNext());
            cancellation.Cancel();
            await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        }

        for (var i = 0; i < 100 && HostProcesses.Children(daemon.Pid).Count > 0; i++)
        {
            await Task.Delay(100);
        }
        Assert.Empty(HostProcesses.Children(daemon.Pid));
    }

    [Fact]
    public async Task SigtermDuringTraffic_CallsEndCleanly_AndTheSocketIsRemoved()
    {
        var daemon = await DaemonFixture.StartAsync([]);
        await using (daemon)
        {
            using var target = TargetProcess.Start(BigPatternPages);
            using var stop = new CancellationTokenSource();
            var traffic = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                var codes = new List<StatusCode>();
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        if (i % 2 == 0)
                        {
                            var outcome = await ReadOutcome.ReadAsync(daemon.Client, WholePattern(target));
                            Expect.Chunks(outcome[0], target.Pattern.Start, target.Pattern.Length, target.Pattern, TestPattern.PatternSeed);
                        }
                        else
                        {
                            await daemon.Client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
                        }
                        codes.Add(StatusCode.OK);
                    }
                    catch (RpcException e)
                    {
                        codes.Add(e.StatusCode);
                        if (e.StatusCode == StatusCode.Unavailable)
                        {
                            break;
                        }
                    }
                }
                return codes;
            })).ToList();
            await Task.Delay(1500);

            daemon.Signal(Signal.Terminate);
            var exitCode = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(20));
            stop.Cancel();
            var codes = (await Task.WhenAll(traffic)).SelectMany(c => c).ToList();

            Assert.Equal(0, exitCode);
            Assert.False(File.Exists(daemon.SocketPath), "the socket is still there");
            Assert.Contains(StatusCode.OK, codes);
            // In flight at the signal: finished, or refused as the server went away; never UNKNOWN or INTERNAL.
            Assert.All(codes, c => Assert.Contains(c, new[] { StatusCode.OK, StatusCode.Unavailable, StatusCode.Cancelled }));
        }
    }

    [Fact]
    public async Task RestartAfterACrash_ReplacesTheStaleSocket_ButNotALiveOne()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-restart-");
        try
        {
            var socket = Path.Combine(directory.FullName, "pvmd.sock");
            var first = await DaemonFixture.StartAsync(["--socket", socket]);
            await using (first)
            {
                var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--socket", socket]);
                Assert.Equal(1, exitCode);
                Assert.Contains("another daemon is already listening", stderr);
                first.Signal(Signal.Kill);
                await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
            Assert.True(File.Exists(socket), "SIGKILL leaves the socket behind");

            await using var second = await DaemonFixture.StartAsync(["--socket", socket]);

            Assert.Contains($"Replaced the stale socket {socket}", await second.LogWithAsync("Replaced the stale socket"));
            await second.Client.GetPlatformAsync(new GetPlatformRequest());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The daemon releases a call's slot as the call ends, which the client may see
    /// a moment before: retry briefly on RESOURCE_EXHAUSTED.</summary>
    private static async Task RetryUntilFreeAsync(Func<Task> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }
}
