using System.Diagnostics;
using Grpc.Core;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Xunit.Abstractions;

namespace Pvmd.Tests.Reliability;

/// <summary>Concurrency limits answer RESOURCE_EXHAUSTED at once, and a 1 GiB read streams
/// through the daemon without the daemon ever holding much of it.</summary>
public sealed class LimitTests(ITestOutputHelper output)
{
    /// <summary>The daemon's peak RSS while streaming 1 GiB stays below this.</summary>
    public const long GigabyteReadRssBoundKilobytes = 256 * 1024;

    private static ReadRemoteRequest WholePattern(TargetProcess target) =>
        new() { Target = target.Target, Ranges = { new V1.Range { Address = target.Pattern.Start, Length = target.Pattern.Length } } };

    [Theory]
    [InlineData(8, 2, "max-concurrent-per-caller")]
    [InlineData(2, 2, "max-concurrent")]
    public async Task CallsBeyondTheLimit_AreRefusedWithResourceExhausted(int total, int perCaller, string limit)
    {
        await using var daemon = await DaemonFixture.StartAsync(["--max-concurrent", $"{total}", "--max-concurrent-per-caller", $"{perCaller}"]);
        using var target = TargetProcess.Start(16384);
        var held = new List<AsyncServerStreamingCall<ReadRemoteResponse>>();
        try
        {
            // Streams that are not read: flow control keeps each call in progress.
            for (var i = 0; i < perCaller; i++)
            {
                var call = daemon.Client.ReadRemote(WholePattern(target));
                held.Add(call);
                Assert.True(await call.ResponseStream.MoveNext());
            }

            var info = await Expect.ErrorAsync(() => daemon.Client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync, StatusCode.ResourceExhausted, "LIMIT_REACHED");

            Assert.Equal(limit, info.Metadata["limit"]);
            Assert.Equal($"{(limit == "max-concurrent" ? total : perCaller)}", info.Metadata["limit_value"]);
            // Health checks are not counted.
            Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, await daemon.CheckHealthAsync());
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await daemon.Client.GetPlatformAsync(new GetPlatformRequest());
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted && attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task OneGigabyteRead_StreamsWithBoundedDaemonMemory()
    {
        // One request of 1 GiB (the default maximum): 16 ranges over the same 64 MiB of pattern,
        // so the target starts quickly and the bytes are still checkable.
        await using var daemon = await DaemonFixture.StartAsync([]);
        using var target = TargetProcess.Start(16384);
        var before = HostProcesses.Memory(daemon.Pid);
        var clock = Stopwatch.StartNew();
        var request = new ReadRemoteRequest { Target = target.Target };
        request.Ranges.Add(Enumerable.Repeat(new V1.Range { Address = target.Pattern.Start, Length = target.Pattern.Length }, 16));
        var length = 16 * target.Pattern.Length;
        Assert.Equal(1UL << 30, length);

        ulong delivered = 0;
        long sampledPeak = 0;
        var results = new List<RangeResult>();
        using (var call = daemon.Client.ReadRemote(request))
        {
            var expected = Array.Empty<byte>();
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                foreach (var chunk in message.Chunks)
                {
                    // Check each chunk as it arrives: the test does not hold 1 GiB either.
                    if (expected.Length < chunk.Data.Length)
                    {
                        expected = new byte[chunk.Data.Length];
                    }
                    var want = expected.AsSpan(0, chunk.Data.Length);
                    TestPattern.Fill(want, TestPattern.PatternSeed, chunk.Address - target.Pattern.Start);
                    Assert.True(chunk.Data.Span.SequenceEqual(want), $"chunk at 0x{chunk.Address:x} differs from the pattern");
                    delivered += (ulong)chunk.Data.Length;
                }
                results.AddRange(message.Results);
                if ((delivered & ((64UL << 20) - 1)) == 0)
                {
                    sampledPeak = Math.Max(sampledPeak, HostProcesses.Memory(daemon.Pid).ResidentKilobytes);
                }
            }
        }
        var after = HostProcesses.Memory(daemon.Pid);

        Assert.Equal(length, delivered);
        Assert.Equal(16, results.Count);
        Assert.All(results, r => Assert.Equal(target.Pattern.Length, r.BytesRead));
        output.WriteLine($"1 GiB read in {clock.Elapsed.TotalSeconds:F2} s ({length / clock.Elapsed.TotalSeconds / (1 << 20):F0} MiB/s); daemon RSS {before.ResidentKilobytes} kB before, {sampledPeak} kB sampled during, peak {after.PeakKilobytes} kB");
        Assert.True(after.PeakKilobytes < GigabyteReadRssBoundKilobytes, $"daemon peak RSS {after.PeakKilobytes} kB, bound {GigabyteReadRssBoundKilobytes} kB");
    }
}
