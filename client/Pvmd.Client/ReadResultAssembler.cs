using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>Groups the messages of a read stream into per-range results. Use it with
/// <see cref="PvmdClient.ReadStreamAsync"/> to handle one range at a time instead of the whole
/// read: memory then stays bounded by the largest range, not the request.</summary>
/// <remarks>The contract says ranges complete in request order; the assembler accepts any
/// order but rejects what cannot be right: an index that was not asked for, a range completed
/// twice, chunks for a range after its result, and (in <see cref="Complete"/>) ranges the
/// stream never completed.</remarks>
public sealed class ReadResultAssembler
{
    private readonly int _rangeCount;
    private readonly Dictionary<uint, List<Chunk>> _pending = [];
    private readonly bool[] _completed;
    private int _completedCount;

    /// <summary>Creates an assembler for a read of <paramref name="rangeCount"/> ranges.</summary>
    /// <param name="rangeCount">The number of ranges in the request.</param>
    public ReadResultAssembler(int rangeCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rangeCount);
        _rangeCount = rangeCount;
        _completed = new bool[rangeCount];
    }

    /// <summary>True once every range has its result.</summary>
    public bool IsComplete => _completedCount == _rangeCount;

    /// <summary>Takes one message of the stream.</summary>
    /// <param name="response">The next message.</param>
    /// <returns>The ranges this message completed, in the order of their results (often none).</returns>
    /// <exception cref="UnexpectedResponseException">The message breaks the contract.</exception>
    public IReadOnlyList<RangeReadResult> Add(ReadRemoteResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);

        foreach (var chunk in response.Chunks)
        {
            CheckIndex(chunk.RangeIndex, "a chunk");
            if (_completed[chunk.RangeIndex])
            {
                throw new UnexpectedResponseException($"the daemon sent a chunk for range {chunk.RangeIndex} after its result");
            }

            if (!_pending.TryGetValue(chunk.RangeIndex, out var list))
            {
                list = [];
                _pending.Add(chunk.RangeIndex, list);
            }

            list.Add(chunk);
        }

        if (response.Results.Count == 0)
        {
            return [];
        }

        var done = new List<RangeReadResult>(response.Results.Count);
        foreach (var result in response.Results)
        {
            CheckIndex(result.RangeIndex, "a result");
            if (_completed[result.RangeIndex])
            {
                throw new UnexpectedResponseException($"the daemon completed range {result.RangeIndex} twice");
            }

            _completed[result.RangeIndex] = true;
            _completedCount++;
            IReadOnlyList<Chunk> chunks = _pending.Remove(result.RangeIndex, out var list) ? list : [];
            done.Add(new RangeReadResult(result, chunks));
        }

        return done;
    }

    /// <summary>Checks, once the stream has ended, that every range was completed.</summary>
    /// <exception cref="UnexpectedResponseException">Some range has no result.</exception>
    public void Complete()
    {
        if (!IsComplete)
        {
            var missing = Array.IndexOf(_completed, false);
            throw new UnexpectedResponseException(
                $"the read stream ended with {_rangeCount - _completedCount} of {_rangeCount} ranges unfinished (first: range {missing})");
        }
    }

    private void CheckIndex(uint index, string what)
    {
        if (index >= (uint)_rangeCount)
        {
            throw new UnexpectedResponseException($"the daemon sent {what} for range {index}; the request had {_rangeCount}");
        }
    }
}
