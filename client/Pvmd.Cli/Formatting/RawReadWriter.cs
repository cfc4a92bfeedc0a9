using System.Globalization;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Cli.Formatting;

/// <summary>Writes a read's readable bytes to a stream as they arrive, in request order, and
/// reports each hole (and each failed check) as a line on stderr. Nothing stands in for a hole
/// in the output, so a caller must check <see cref="HadHoles"/>: the bytes after a hole are
/// not at their offset.</summary>
/// <remarks>Only chunks of a range later than the one being written are held back (a daemon
/// may read several ranges with one system call); the current range streams through.</remarks>
internal sealed class RawReadWriter(Stream output, TextWriter error, int rangeCount)
{
    private readonly Dictionary<uint, List<Chunk>> _early = [];
    private readonly bool[] _done = new bool[rangeCount];
    private uint _current;

    public bool HadHoles { get; private set; }

    public bool HadMismatch { get; private set; }

    public async Task AddAsync(ReadRemoteResponse response, CancellationToken cancellationToken)
    {
        foreach (var chunk in response.Chunks)
        {
            var index = Check(chunk.RangeIndex);
            if (index == _current)
            {
                await output.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
            }
            else if (index > _current)
            {
                if (!_early.TryGetValue(index, out var list))
                {
                    list = [];
                    _early.Add(index, list);
                }

                list.Add(chunk);
            }
        }

        foreach (var result in response.Results)
        {
            var index = Check(result.RangeIndex);
            _done[index] = true;
            foreach (var hole in result.Holes)
            {
                HadHoles = true;
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{ErrorReport.Prefix}range {index}: 0x{hole.Address:x16} {hole.Length} bytes unreadable ({Names.Of(hole.Reason)})")).ConfigureAwait(false);
            }

            if (result.Check is { Mismatch: true } check)
            {
                HadMismatch = true;
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{ErrorReport.Prefix}range {index}: MISMATCH: {CheckText.Describe(check)}")).ConfigureAwait(false);
            }
        }

        while (_current < _done.Length && _done[_current])
        {
            _current++;
            if (_early.Remove(_current, out var held))
            {
                foreach (var chunk in held)
                {
                    await output.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Checks, once the stream has ended, that every range was completed.</summary>
    public void Complete()
    {
        if (_current < _done.Length)
        {
            throw new UnexpectedResponseException($"the read stream ended before range {_current} was finished");
        }
    }

    private uint Check(uint index)
    {
        if (index >= (uint)_done.Length)
        {
            throw new UnexpectedResponseException($"the daemon sent range {index}; the request had {_done.Length}");
        }

        if (_done[index])
        {
            throw new UnexpectedResponseException($"the daemon sent more for range {index} after its result");
        }

        return index;
    }
}
