using Grpc.Core;
using Grpc.Health.V1;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Range = Pvmd.V1.Range;

namespace Pvmd.Tests.Integration;

/// <summary>A target with 64 MiB of pattern, shared by the large-read tests.</summary>
public sealed class LargeTargetFixture : IDisposable
{
    public const int PatternBytes = 64 << 20;

    public TargetProcess Target { get; } = TargetProcess.Start(patternPages: PatternBytes / Environment.SystemPageSize);

    public void Dispose() => Target.Dispose();
}

/// <summary>Reads large enough to be streamed in many messages.</summary>
[Collection(DaemonCollection.Name)]
public sealed class LargeReadTests : IClassFixture<LargeTargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;

    public LargeReadTests(DaemonFixture daemon, LargeTargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
    }

    [Fact]
    public async Task Read_64MiB_StreamsInSeveralMessagesWithExactContent()
    {
        var pattern = _target.Pattern;
        var request = new ReadRemoteRequest
        {
            Target = _target.Target,
            Ranges = { new Range { Address = pattern.Start, Length = pattern.Length } },
        };

        var outcome = await ReadOutcome.ReadAsync(_daemon.Client, request);

        Assert.True(outcome.MessageCount > 1, $"64 MiB came in {outcome.MessageCount} message(s)");
        Assert.True(
            outcome.LargestMessage <= UnixSocketChannel.DefaultMaxReceiveMessageSize,
            $"a message of {outcome.LargestMessage} bytes is above gRPC's default receive limit: clients with default settings fail");
        ReadRemoteTests.AssertComplete(outcome[0].Result, 0, pattern.Start, pattern.Length);
        Assert.Equal([(pattern.Start, pattern.Length)], Expect.Covered(outcome[0]));
        Expect.Chunks(outcome[0], pattern.Start, pattern.Length, pattern, TestPattern.PatternSeed);
    }

    [Fact]
    public async Task Read_TargetKilledMidStream_DeliveredBytesExactRestReportedProcessGone()
    {
        // Four passes over 64 MiB: far more than the daemon may buffer ahead of a client
        // that has stopped reading (the contract bounds its memory whatever the request).
        using var target = TargetProcess.Start(patternPages: LargeTargetFixture.PatternBytes / Environment.SystemPageSize);
        var pattern = target.Pattern;
        var request = new ReadRemoteRequest { Target = target.Target };
        request.Ranges.AddRange(Enumerable.Repeat(0, 4).Select(_ => new Range { Address = pattern.Start, Length = pattern.Length }));
        var outcome = new ReadOutcome();

        using var call = _daemon.Client.ReadRemote(request, deadline: DateTime.UtcNow.AddMinutes(2));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "the stream ended before its first message");
        outcome.Add(call.ResponseStream.Current);
        target.Kill();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            outcome.Add(message);
        }

        Assert.True(outcome[0].DeliveredBytes > 0, "the first message delivered no byte");
        Assert.Equal([0U, 1U, 2U, 3U], outcome.ResultOrder);
        for (var i = 0; i < 4; i++)
        {
            var range = outcome[i];
            var result = range.Result!;
            Expect.Chunks(range, pattern.Start, pattern.Length, pattern, TestPattern.PatternSeed);
            Assert.Equal((ulong)range.DeliveredBytes, result.BytesRead);
            if (result.BytesRead == pattern.Length)
            {
                ReadRemoteTests.AssertComplete(result, i, pattern.Start, pattern.Length);
                continue;
            }
            // What was delivered is a prefix; everything after it is one PROCESS_GONE hole.
            var goneAt = pattern.Start + result.BytesRead;
            var rest = pattern.Length - result.BytesRead;
            Assert.True(result.BytesRead == 0 ? Expect.Covered(range).Count == 0 : Expect.Covered(range).SequenceEqual([(pattern.Start, result.BytesRead)]), $"range {i}: delivered bytes are not a prefix");
            Assert.Equal(rest, result.UnreadableBytes);
            Assert.True(result.HasStopAddress, $"range {i}: {result}");
            Assert.Equal(goneAt, result.StopAddress);
            Assert.Equal(StopReason.ProcessGone, result.StopReason);
            var hole = Assert.Single(result.Holes);
            Assert.Equal((goneAt, rest, StopReason.ProcessGone), (hole.Address, hole.Length, hole.Reason));
        }
        Assert.Equal(StopReason.ProcessGone, outcome[3].Result!.StopReason);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await _daemon.CheckHealthAsync());
    }
}
