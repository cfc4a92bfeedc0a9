using Pvmd.Core.Interop;
using Pvmd.Core.Probe;

namespace Pvmd.Tests.Probe;

/// <summary>The classifier from made-up destination snapshots: no syscalls. A window is 64
/// sentinel bytes, the buffer as far as it is accessible, and (unless the buffer meets the
/// break) 64 more.</summary>
public sealed class CaseClassifierTests
{
    private const int Margin = 64;
    private static readonly RunResult s_efault = new(-1, Errno.EFAULT);

    /// <summary>Source bytes in transfer order: the pattern, as the engine uses it.</summary>
    private static readonly byte[] s_source = Pattern(32);

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        ProbePattern.Fill(bytes, 1000);
        return bytes;
    }

    private sealed class Snapshots(int visible, bool meetsBreak)
    {
        public byte[] First { get; } = Window(visible, meetsBreak, ProbePattern.FirstSentinel);
        public byte[] Second { get; } = Window(visible, meetsBreak, ProbePattern.SecondSentinel);

        private static byte[] Window(int visible, bool meetsBreak, byte sentinel)
        {
            var window = new byte[Margin + visible + (meetsBreak ? 0 : Margin)];
            Array.Fill(window, sentinel);
            return window;
        }

        /// <summary>What a kernel does in both runs: copies source bytes [0, count) in place.</summary>
        public Snapshots Copy(int count) => CopyAt(0, count);

        public Snapshots CopyAt(int offset, int count)
        {
            s_source.AsSpan(offset, count).CopyTo(First.AsSpan(Margin + offset));
            s_source.AsSpan(offset, count).CopyTo(Second.AsSpan(Margin + offset));
            return this;
        }

        public Snapshots Set(int offset, byte value)
        {
            First[Margin + offset] = value;
            Second[Margin + offset] = value;
            return this;
        }

        public CaseMeasurement Measure(RunResult first, RunResult second, long expectedRet, List<OffsetRange>? ranges = null, DestinationSegment[]? segments = null, int length = 12) =>
            CaseClassifier.Measure(First, Second, Margin, segments ?? [new(0, length)], s_source, first, second, expectedRet, ranges);
    }

    [Fact]
    public void Measure_CountMatchesBytesCopied_IsExact()
    {
        // Readv into a buffer of B = 8 bytes before the break, A = 4 after it.
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(8);

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8);

        Assert.Equal(CaseClass.Exact, measurement.Class);
        Assert.Equal(8, measurement.ModifiedCount);
        Assert.Equal(0, measurement.FirstModified);
        Assert.Equal(7, measurement.LastModified);
        Assert.Equal(0, measurement.ModifiedBeyondRet);
        Assert.Equal(0, measurement.OverReported);
        Assert.Equal(0, measurement.ModifiedBeforeBuffer);
        Assert.Equal(0, measurement.Deficit);
        Assert.True(measurement.RunsAgree);
    }

    [Fact]
    public void Measure_GappedDestinationFilledExactly_IsExact()
    {
        // rr's first layout: three bytes, a two-byte gap, then one byte before the break.
        var snapshots = new Snapshots(visible: 6, meetsBreak: true);
        s_source.AsSpan(0, 3).CopyTo(snapshots.First.AsSpan(Margin));
        s_source.AsSpan(0, 3).CopyTo(snapshots.Second.AsSpan(Margin));
        snapshots.First[Margin + 5] = s_source[3];
        snapshots.Second[Margin + 5] = s_source[3];

        var measurement = snapshots.Measure(new(4, 0), new(4, 0), expectedRet: 4, segments: [new(0, 3), new(5, 2)]);

        Assert.Equal(CaseClass.Exact, measurement.Class);
        Assert.Equal(4, measurement.ModifiedCount);
        Assert.Equal(5, measurement.LastModified);
    }

    [Fact]
    public void Measure_StopsEarlyWithoutWritingMore_IsShortClean()
    {
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(5);

        var measurement = snapshots.Measure(new(5, 0), new(5, 0), expectedRet: 8);

        Assert.Equal(CaseClass.ShortClean, measurement.Class);
        Assert.Equal(3, measurement.Deficit);
        Assert.Equal(5, measurement.ModifiedCount);
        Assert.Equal(0, measurement.ModifiedBeyondRet);
    }

    [Fact]
    public void Measure_WritesBeyondTheCount_IsShortDirtyWithRanges()
    {
        // arm64 on 5.10: the count stops early, but more bytes were stored.
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(7);
        var ranges = new List<OffsetRange>();

        var measurement = snapshots.Measure(new(4, 0), new(4, 0), expectedRet: 8, ranges);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(3, measurement.ModifiedBeyondRet);
        Assert.Equal([new OffsetRange(4, 3)], ranges);
        Assert.Equal(0, measurement.OverReported);
        Assert.Equal(4, measurement.Deficit);
    }

    [Fact]
    public void Measure_FullCountButZeroFilledPastIt_IsShortDirty()
    {
        // The old zero-fill of copy_from_user: a writev source ends at B = 8, yet the target's
        // bytes 8 and 9 were cleared. The count is right, the bytes past it are not untouched.
        var snapshots = new Snapshots(visible: 12, meetsBreak: false).Copy(8).Set(8, 0).Set(9, 0);
        var ranges = new List<OffsetRange>();

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8, ranges);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(0, measurement.Deficit);
        Assert.Equal(2, measurement.ModifiedBeyondRet);
        Assert.Equal([new OffsetRange(8, 2)], ranges);
    }

    [Fact]
    public void Measure_SeparateStretchesBeyondTheCount_AreReportedApart()
    {
        var snapshots = new Snapshots(visible: 12, meetsBreak: false).Copy(4).CopyAt(6, 2).CopyAt(10, 1);
        var ranges = new List<OffsetRange>();

        var measurement = snapshots.Measure(new(4, 0), new(4, 0), expectedRet: 8, ranges);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(3, measurement.ModifiedBeyondRet);
        Assert.Equal([new OffsetRange(6, 2), new OffsetRange(10, 1)], ranges);
        Assert.Equal(10, measurement.LastModified);
    }

    [Fact]
    public void Measure_CountIncludesUnwrittenBytes_IsOverReport()
    {
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(6);

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8);

        Assert.Equal(CaseClass.OverReport, measurement.Class);
        Assert.Equal(2, measurement.OverReported);
    }

    [Fact]
    public void Measure_CountReachesPastTheBreak_IsOverReport()
    {
        // Bytes past the break are inaccessible: a count that covers them cannot be true.
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(8);

        var measurement = snapshots.Measure(new(10, 0), new(10, 0), expectedRet: 8);

        Assert.Equal(CaseClass.OverReport, measurement.Class);
        Assert.Equal(2, measurement.OverReported);
        Assert.Equal(-2, measurement.Deficit);
    }

    [Fact]
    public void Measure_WrongBytesBelowTheCount_IsOverReport()
    {
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(8).Set(3, 0);

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8);

        Assert.Equal(CaseClass.OverReport, measurement.Class);
        Assert.Equal(1, measurement.OverReported);
    }

    [Fact]
    public void Measure_FailedCallChangedNothing_IsEfaultClean()
    {
        var snapshots = new Snapshots(visible: 0, meetsBreak: true);

        var measurement = snapshots.Measure(s_efault, s_efault, expectedRet: 0);

        Assert.Equal(CaseClass.EfaultClean, measurement.Class);
        Assert.Equal(0, measurement.ModifiedCount);
        Assert.Equal(-1, measurement.FirstModified);
        Assert.Equal(-1, measurement.LastModified);
        Assert.Equal(0, measurement.Deficit);
    }

    [Fact]
    public void Measure_FailedCallWroteBytes_IsEfaultDirty()
    {
        // 32-bit Arm: the call fails although it stored the first bytes.
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(3);

        var measurement = snapshots.Measure(s_efault, s_efault, expectedRet: 8);

        Assert.Equal(CaseClass.EfaultDirty, measurement.Class);
        Assert.Equal(3, measurement.ModifiedBeyondRet);
        Assert.Equal(8, measurement.Deficit);
    }

    [Fact]
    public void Measure_ByteBeforeTheBuffer_IsShortDirtyAndCountedApart()
    {
        var snapshots = new Snapshots(visible: 8, meetsBreak: true).Copy(8).Set(-2, 0x33);

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(1, measurement.ModifiedBeforeBuffer);
        Assert.Equal(0, measurement.ModifiedBeyondRet);
        Assert.Equal(-2, measurement.FirstModified);
        Assert.Equal(9, measurement.ModifiedCount);
    }

    [Fact]
    public void Measure_RunsDisagree_ReportsTheWorseRunAndTheFirstCount()
    {
        // The first run copies everything, the second stops after 5 bytes.
        var snapshots = new Snapshots(visible: 8, meetsBreak: true);
        s_source.AsSpan(0, 8).CopyTo(snapshots.First.AsSpan(Margin));
        s_source.AsSpan(0, 5).CopyTo(snapshots.Second.AsSpan(Margin));

        var measurement = snapshots.Measure(new(8, 0), new(5, 0), expectedRet: 8);

        Assert.False(measurement.RunsAgree);
        Assert.Equal(CaseClass.ShortClean, measurement.Class);
        Assert.Equal(0, measurement.Deficit);
        Assert.Equal(8, measurement.ModifiedCount);
        Assert.Equal(0, measurement.ModifiedBeyondRet);
    }

    [Fact]
    public void Measure_FailureInOneRunOnly_DisagreesAndCountsAsFailed()
    {
        var snapshots = new Snapshots(visible: 8, meetsBreak: true);
        s_source.AsSpan(0, 8).CopyTo(snapshots.Second.AsSpan(Margin));

        var measurement = snapshots.Measure(s_efault, new(8, 0), expectedRet: 8);

        Assert.False(measurement.RunsAgree);
        Assert.Equal(CaseClass.EfaultClean, measurement.Class);
    }

    [Fact]
    public void Measure_WriteEqualToOneSentinel_IsCaughtByTheOther()
    {
        // A kernel that stores 0x5A beyond the count: invisible in the first run, not in the second.
        var snapshots = new Snapshots(visible: 12, meetsBreak: false).Copy(8);
        snapshots.First[Margin + 9] = ProbePattern.FirstSentinel;
        snapshots.Second[Margin + 9] = ProbePattern.FirstSentinel;

        var measurement = snapshots.Measure(new(8, 0), new(8, 0), expectedRet: 8);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(1, measurement.ModifiedBeyondRet);
    }

    [Fact]
    public void Measure_ByteInAGapBetweenIovecs_IsBeyondTheCount()
    {
        var snapshots = new Snapshots(visible: 6, meetsBreak: true);
        s_source.AsSpan(0, 3).CopyTo(snapshots.First.AsSpan(Margin));
        s_source.AsSpan(0, 3).CopyTo(snapshots.Second.AsSpan(Margin));
        snapshots.Set(5, s_source[3]).Set(3, 0);

        var measurement = snapshots.Measure(new(4, 0), new(4, 0), expectedRet: 4, segments: [new(0, 3), new(5, 2)]);

        Assert.Equal(CaseClass.ShortDirty, measurement.Class);
        Assert.Equal(1, measurement.ModifiedBeyondRet);
    }

    [Theory]
    [InlineData(8, 8, 0, 0, 0, CaseClass.Exact)]
    [InlineData(6, 6, 0, 0, 0, CaseClass.ShortClean)]
    [InlineData(6, 6, 2, 0, 0, CaseClass.ShortDirty)]
    [InlineData(8, 8, 0, 0, 1, CaseClass.ShortDirty)]
    [InlineData(8, 8, 0, 1, 0, CaseClass.OverReport)]
    [InlineData(-1, -1, 0, 0, 0, CaseClass.EfaultClean)]
    [InlineData(-1, -1, 3, 0, 0, CaseClass.EfaultDirty)]
    [InlineData(-1, -1, 0, 0, 1, CaseClass.EfaultDirty)]
    public void Classify_FromCounts(long firstRet, long secondRet, int beyond, int over, int before, CaseClass expected)
    {
        var measurement = new CaseMeasurement(
            new RunResult(firstRet, firstRet < 0 ? Errno.EFAULT : 0),
            new RunResult(secondRet, secondRet < 0 ? Errno.EFAULT : 0),
            ExpectedRet: 8,
            ModifiedCount: 0,
            FirstModified: -1,
            LastModified: -1,
            ModifiedBeyondRet: beyond,
            OverReported: over,
            ModifiedBeforeBuffer: before);

        Assert.Equal(expected, CaseClassifier.Classify(measurement));
    }

    [Fact]
    public void Pattern_NeverZeroNorASentinel_AndNeighboursDiffer()
    {
        var bytes = new byte[100_000];

        ProbePattern.Fill(bytes, 0);

        Assert.DoesNotContain((byte)0, bytes);
        Assert.DoesNotContain(ProbePattern.FirstSentinel, bytes);
        Assert.DoesNotContain(ProbePattern.SecondSentinel, bytes);
        for (var i = 1; i < bytes.Length; i++)
        {
            Assert.NotEqual(bytes[i - 1], bytes[i]);
        }
    }
}
