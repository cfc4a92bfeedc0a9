namespace Pvmd.Core.Memory;

/// <summary>A span of a target's address space.</summary>
public readonly record struct MemoryRange(ulong Address, ulong Length)
{
    public ulong End => Address + Length;
}

/// <summary>Why a transfer stopped short at some address.</summary>
public enum StopReason
{
    None = 0,
    /// <summary>No mapping there.</summary>
    Unmapped = 1,
    /// <summary>A mapping without the needed permission.</summary>
    Protection = 2,
    /// <summary>Mapped and permitted, yet the kernel could not copy.</summary>
    Fault = 3,
    /// <summary>The target exited.</summary>
    ProcessGone = 4,
}

/// <summary>An unreadable (or unwritable) stretch of a range.</summary>
public readonly record struct Hole(ulong Address, ulong Length, StopReason Reason);

/// <summary>The daemon's own limits on one request.</summary>
/// <param name="MaxRanges">Most ranges in one read.</param>
/// <param name="MaxBytes">Most bytes in one request (the sum of the ranges, or a write's data).</param>
/// <param name="ChunkBytes">Most bytes read by one syscall batch and sent in one message:
/// the bound on the daemon's memory per request.</param>
/// <param name="MaxWriteBytes">Most bytes in one write.</param>
public sealed record TransferLimits(int MaxRanges = 100_000, ulong MaxBytes = 1UL << 30, int ChunkBytes = 1 << 20, int MaxWriteBytes = 16 << 20)
{
    /// <summary>Throws <see cref="InvalidRequestException"/> for ranges the daemon refuses;
    /// called before anything is allocated for the request.</summary>
    public void ValidateRead(IReadOnlyList<MemoryRange> ranges)
    {
        if (ranges.Count == 0)
        {
            throw new InvalidRequestException("a read needs at least one range");
        }
        if (ranges.Count > MaxRanges)
        {
            throw new InvalidRequestException($"{ranges.Count} ranges: at most {MaxRanges} per request");
        }
        ulong total = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            ValidateRange(ranges[i], $"range {i}");
            total += ranges[i].Length;
            if (total > MaxBytes)
            {
                throw new InvalidRequestException($"the ranges add up to more than the {MaxBytes} bytes allowed per request");
            }
        }
    }

    /// <summary>Throws <see cref="InvalidRequestException"/> for a write the daemon refuses.</summary>
    public void ValidateWrite(ulong address, int length)
    {
        if (length == 0)
        {
            throw new InvalidRequestException("a write needs at least one byte of data");
        }
        if (length > MaxWriteBytes)
        {
            throw new InvalidRequestException($"the write is {length} bytes: at most {MaxWriteBytes} per write");
        }
        ValidateRange(new MemoryRange(address, (ulong)length), "the write");
    }

    private void ValidateRange(MemoryRange range, string what)
    {
        if (range.Length == 0)
        {
            throw new InvalidRequestException($"{what} has length 0");
        }
        if (range.Length > MaxBytes)
        {
            throw new InvalidRequestException($"{what} is {range.Length} bytes: at most {MaxBytes} per request");
        }
        // Any address may be asked for (above user space it is a hole), but a range that wraps
        // past 2^64 names no memory at all.
        if (range.Length > ulong.MaxValue - range.Address)
        {
            throw new InvalidRequestException($"{what} at 0x{range.Address:x} + {range.Length} runs past the end of the address space");
        }
    }
}

/// <summary>What the kernel really did to a destination buffer, against what it reported.</summary>
public sealed class TransferCheck
{
    public ulong Returned { get; set; }
    public ulong Actual { get; set; }
    public ulong ChangedBeyondReturned { get; set; }
    public ulong UnwrittenBelowReturned { get; set; }
    public long FirstModifiedOffset { get; set; } = -1;
    public long LastModifiedOffset { get; set; } = -1;
    public bool Mismatch => ChangedBeyondReturned != 0 || UnwrittenBelowReturned != 0 || Returned != Actual;
}
