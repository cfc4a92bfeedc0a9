namespace Pvmd.Core.Probe;

/// <summary>How one transfer of a case ended: the count returned (-1 on failure) and the errno.</summary>
public readonly record struct RunResult(long Ret, int Errno)
{
    public bool Failed => Ret < 0;

    /// <summary>The bytes the call claims: none when it failed.</summary>
    public long Reported => Ret < 0 ? 0 : Ret;
}

/// <summary>One destination iovec, as an offset from the destination buffer's first byte,
/// in the order the transfer fills them.</summary>
public readonly record struct DestinationSegment(int Offset, int Length);

/// <summary>A stretch of the destination, as an offset from the buffer's first byte.</summary>
public readonly record struct OffsetRange(long Offset, long Length);

/// <summary>What the two sentinel runs of a case showed. Offsets are from the destination
/// buffer's first byte; bytes before the buffer have negative offsets.</summary>
/// <param name="ExpectedRet">The count a correct kernel returns: every byte it can copy.</param>
/// <param name="FirstModified">Lowest changed offset; -1 when <paramref name="ModifiedCount"/> is 0.</param>
/// <param name="LastModified">Highest changed offset; -1 when <paramref name="ModifiedCount"/> is 0.</param>
/// <param name="ModifiedBeyondRet">Changed bytes of the buffer (gaps between iovecs included)
/// that the returned count does not cover.</param>
/// <param name="OverReported">Transfer positions below the returned count whose destination
/// byte does not hold the source's byte, or that no kernel could have copied.</param>
public readonly record struct CaseMeasurement(
    RunResult First,
    RunResult Second,
    long ExpectedRet,
    int ModifiedCount,
    long FirstModified,
    long LastModified,
    int ModifiedBeyondRet,
    int OverReported,
    int ModifiedBeforeBuffer)
{
    public bool RunsAgree => First == Second;

    /// <summary>Expected count minus the first run's count (all of it when the call failed).</summary>
    public long Deficit => ExpectedRet - First.Reported;

    public CaseClass Class => CaseClassifier.Classify(this);
}

/// <summary>
/// The pure half of the probe: from the destination as the two runs left it (sentinel 0x5A,
/// then 0xA5) and what each run returned, what did the kernel really change, and does the
/// count tell the truth? No syscalls, so every class can be tested from made-up snapshots.
/// </summary>
public static class CaseClassifier
{
    /// <summary>The class of a measurement. A count that claims unwritten bytes is the worst
    /// news; then a failed call (did it still write?); then writes beyond the count; then a
    /// count below what the kernel could have copied.</summary>
    public static CaseClass Classify(in CaseMeasurement measurement)
    {
        if (measurement.OverReported > 0)
        {
            return CaseClass.OverReport;
        }
        var dirty = measurement.ModifiedBeyondRet > 0 || measurement.ModifiedBeforeBuffer > 0;
        if (measurement.First.Failed || measurement.Second.Failed)
        {
            return dirty ? CaseClass.EfaultDirty : CaseClass.EfaultClean;
        }
        if (dirty)
        {
            return CaseClass.ShortDirty;
        }
        return Math.Min(measurement.First.Ret, measurement.Second.Ret) < measurement.ExpectedRet ? CaseClass.ShortClean : CaseClass.Exact;
    }

    /// <summary>
    /// Compares the destination after each run with that run's sentinel and with the source.
    /// </summary>
    /// <param name="firstRun">The watched window after the run with sentinel 0x5A: the bytes
    /// before the buffer, the buffer as far as it is accessible, the bytes after it.</param>
    /// <param name="secondRun">The same window after the run with sentinel 0xA5.</param>
    /// <param name="bufferStart">Index in the windows of the buffer's first byte.</param>
    /// <param name="segments">The destination iovecs in transfer order; parts beyond the
    /// windows are inaccessible, so nothing can have been written there.</param>
    /// <param name="expectedStream">The source bytes in transfer order, at least
    /// <paramref name="expectedRet"/> of them.</param>
    /// <param name="beyondRanges">When given, cleared and filled with the stretches of
    /// <see cref="CaseMeasurement.ModifiedBeyondRet"/>.</param>
    public static CaseMeasurement Measure(
        ReadOnlySpan<byte> firstRun,
        ReadOnlySpan<byte> secondRun,
        int bufferStart,
        ReadOnlySpan<DestinationSegment> segments,
        ReadOnlySpan<byte> expectedStream,
        RunResult first,
        RunResult second,
        long expectedRet,
        List<OffsetRange>? beyondRanges = null)
    {
        if (firstRun.Length != secondRun.Length)
        {
            throw new ArgumentException("both runs must cover the same window", nameof(secondRun));
        }
        if ((uint)bufferStart > (uint)firstRun.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferStart));
        }
        if (expectedRet < 0 || expectedStream.Length < expectedRet)
        {
            throw new ArgumentException("the expected stream must hold every byte a correct kernel copies", nameof(expectedStream));
        }
        beyondRanges?.Clear();
        if (TryMeasureClean(firstRun, secondRun, bufferStart, segments, expectedStream, first, second, expectedRet, out var clean))
        {
            return clean;
        }
        return MeasureBytes(firstRun, secondRun, bufferStart, segments, expectedStream, first, second, expectedRet, beyondRanges);
    }

    /// <summary>The common case, vectorized: both runs returned the same count r, the
    /// destination is contiguous, and each window holds exactly its sentinel with the
    /// source's first r bytes in place.</summary>
    private static bool TryMeasureClean(
        ReadOnlySpan<byte> firstRun,
        ReadOnlySpan<byte> secondRun,
        int bufferStart,
        ReadOnlySpan<DestinationSegment> segments,
        ReadOnlySpan<byte> expectedStream,
        RunResult first,
        RunResult second,
        long expectedRet,
        out CaseMeasurement measurement)
    {
        measurement = default;
        var reported = first.Reported;
        if (first != second || reported > expectedRet || bufferStart + reported > firstRun.Length || !IsContiguousFromZero(segments, reported))
        {
            return false;
        }
        var count = (int)reported;
        var expected = expectedStream[..count];
        if (!HoldsOnly(firstRun, bufferStart, expected, ProbePattern.FirstSentinel)
            || !HoldsOnly(secondRun, bufferStart, expected, ProbePattern.SecondSentinel))
        {
            return false;
        }
        measurement = new CaseMeasurement(first, second, expectedRet, count, count > 0 ? 0 : -1, count - 1, 0, 0, 0);
        return true;
    }

    private static bool HoldsOnly(ReadOnlySpan<byte> window, int bufferStart, ReadOnlySpan<byte> expected, byte sentinel) =>
        window[..bufferStart].IndexOfAnyExcept(sentinel) < 0
        && window.Slice(bufferStart, expected.Length).SequenceEqual(expected)
        && window[(bufferStart + expected.Length)..].IndexOfAnyExcept(sentinel) < 0;

    private static bool IsContiguousFromZero(ReadOnlySpan<DestinationSegment> segments, long length)
    {
        long next = 0;
        foreach (var segment in segments)
        {
            if (next >= length)
            {
                return true;
            }
            if (segment.Offset != next)
            {
                return false;
            }
            next += segment.Length;
        }
        return next >= length;
    }

    private static CaseMeasurement MeasureBytes(
        ReadOnlySpan<byte> firstRun,
        ReadOnlySpan<byte> secondRun,
        int bufferStart,
        ReadOnlySpan<DestinationSegment> segments,
        ReadOnlySpan<byte> expectedStream,
        RunResult first,
        RunResult second,
        long expectedRet,
        List<OffsetRange>? beyondRanges)
    {
        int modified = 0, before = 0, beyond = 0, over = 0;
        long firstModified = -1, lastModified = -1;
        long rangeStart = 0, rangeEnd = -1;
        var firstReported = first.Reported;
        var secondReported = second.Reported;

        for (var index = 0; index < firstRun.Length; index++)
        {
            var changedFirst = firstRun[index] != ProbePattern.FirstSentinel;
            var changedSecond = secondRun[index] != ProbePattern.SecondSentinel;
            if (!changedFirst && !changedSecond)
            {
                continue;
            }
            long offset = index - bufferStart;
            modified++;
            if (modified == 1)
            {
                firstModified = offset;
            }
            lastModified = offset;
            if (offset < 0)
            {
                before++;
                continue;
            }
            // A byte outside every iovec (a gap) is never covered by the count.
            var position = StreamPosition(segments, offset);
            var outsideFirst = position < 0 || position >= firstReported;
            var outsideSecond = position < 0 || position >= secondReported;
            if ((changedFirst && outsideFirst) || (changedSecond && outsideSecond))
            {
                beyond++;
                if (offset == rangeEnd)
                {
                    rangeEnd++;
                }
                else
                {
                    Flush(beyondRanges, rangeStart, rangeEnd);
                    rangeStart = offset;
                    rangeEnd = offset + 1;
                }
            }
        }
        Flush(beyondRanges, rangeStart, rangeEnd);

        var claimed = Math.Max(firstReported, secondReported);
        for (long position = 0; position < claimed; position++)
        {
            var offset = OffsetOf(segments, position);
            var index = offset < 0 ? -1 : bufferStart + offset;
            var observable = index >= 0 && index < firstRun.Length;
            // Past the expected count nothing was copyable, whatever the destination holds.
            var copyable = position < expectedRet && observable;
            var badFirst = position < firstReported && (!copyable || firstRun[(int)index] != expectedStream[(int)position]);
            var badSecond = position < secondReported && (!copyable || secondRun[(int)index] != expectedStream[(int)position]);
            if (badFirst || badSecond)
            {
                over++;
            }
        }
        return new CaseMeasurement(first, second, expectedRet, modified, firstModified, lastModified, beyond, over, before);
    }

    private static void Flush(List<OffsetRange>? ranges, long start, long end)
    {
        if (ranges is not null && end > start)
        {
            ranges.Add(new OffsetRange(start, end - start));
        }
    }

    /// <summary>Which byte of the transfer lands at a buffer offset; -1 in a gap or past the end.</summary>
    private static long StreamPosition(ReadOnlySpan<DestinationSegment> segments, long offset)
    {
        long position = 0;
        foreach (var segment in segments)
        {
            if (offset >= segment.Offset && offset < segment.Offset + segment.Length)
            {
                return position + (offset - segment.Offset);
            }
            position += segment.Length;
        }
        return -1;
    }

    /// <summary>Where a byte of the transfer lands; -1 past the destination's end.</summary>
    private static long OffsetOf(ReadOnlySpan<DestinationSegment> segments, long position)
    {
        long start = 0;
        foreach (var segment in segments)
        {
            if (position < start + segment.Length)
            {
                return segment.Offset + (position - start);
            }
            start += segment.Length;
        }
        return -1;
    }
}
