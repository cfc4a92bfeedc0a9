using Google.Protobuf;
using Grpc.Core;
using Pvmd.V1;

namespace Pvmd.Tests.Infrastructure;

/// <summary>One range of a ReadRemote answer: its chunks in arrival order and its result.</summary>
public sealed class RangeOutcome
{
    public List<Chunk> Chunks { get; } = [];

    public RangeResult? Result { get; set; }

    public long DeliveredBytes => Chunks.Sum(c => (long)c.Data.Length);
}

/// <summary>Everything a ReadRemote stream carried, gathered per range, with the facts
/// about the stream itself (how many messages, how large the largest).</summary>
public sealed class ReadOutcome
{
    private readonly Dictionary<uint, RangeOutcome> _ranges = [];

    public int MessageCount { get; private set; }

    public int LargestMessage { get; private set; }

    /// <summary>Range indexes in the order their results arrived.</summary>
    public List<uint> ResultOrder { get; } = [];

    public RangeOutcome this[int rangeIndex] => _ranges.TryGetValue((uint)rangeIndex, out var range)
        ? range
        : throw new Xunit.Sdk.XunitException($"no chunk nor result for range {rangeIndex}");

    public int RangeCount => _ranges.Count;

    public void Add(ReadRemoteResponse message)
    {
        MessageCount++;
        LargestMessage = Math.Max(LargestMessage, message.CalculateSize());
        foreach (var chunk in message.Chunks)
        {
            Range(chunk.RangeIndex).Chunks.Add(chunk);
        }
        foreach (var result in message.Results)
        {
            var range = Range(result.RangeIndex);
            Assert.True(range.Result is null, $"range {result.RangeIndex} got a second result");
            range.Result = result;
            ResultOrder.Add(result.RangeIndex);
        }
    }

    private RangeOutcome Range(uint index)
    {
        if (!_ranges.TryGetValue(index, out var range))
        {
            range = new RangeOutcome();
            _ranges.Add(index, range);
        }
        return range;
    }

    /// <summary>Runs ReadRemote to the end of its stream.</summary>
    public static async Task<ReadOutcome> ReadAsync(RemoteMemory.RemoteMemoryClient client, ReadRemoteRequest request)
    {
        using var call = client.ReadRemote(request, deadline: DateTime.UtcNow.AddMinutes(2));
        var outcome = new ReadOutcome();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            outcome.Add(message);
        }
        return outcome;
    }
}
