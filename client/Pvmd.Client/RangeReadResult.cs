using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>One range of a read, assembled from the daemon's stream: the readable bytes, as
/// the chunks that carried them (address order, never zero-filled), and the daemon's account
/// of the range (holes, stop reason, and with verify the transfer check).</summary>
public sealed class RangeReadResult
{
    /// <summary>Creates the result of one range.</summary>
    /// <param name="result">The daemon's account of the range.</param>
    /// <param name="chunks">The range's chunks in address order.</param>
    public RangeReadResult(RangeResult result, IReadOnlyList<Chunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(chunks);
        Result = result;
        Chunks = chunks;
    }

    /// <summary>The daemon's account of the range.</summary>
    public RangeResult Result { get; }

    /// <summary>The readable bytes, in address order; gaps between chunks are the
    /// <see cref="RangeResult.Holes"/>.</summary>
    public IReadOnlyList<Chunk> Chunks { get; }

    /// <summary>The range's position in the request.</summary>
    public int Index => (int)Result.RangeIndex;

    /// <summary>The range's first address.</summary>
    public ulong Address => Result.Address;

    /// <summary>The range's length.</summary>
    public ulong Length => Result.Length;

    /// <summary>True when every byte of the range was read.</summary>
    public bool IsComplete => Result.UnreadableBytes == 0 && Result.BytesRead == Result.Length;

    /// <summary>True when verify was asked and the kernel's count disagreed with the bytes it
    /// really changed.</summary>
    public bool HasMismatch => Result.Check?.Mismatch == true;
}
