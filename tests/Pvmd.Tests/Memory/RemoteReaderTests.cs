using Pvmd.Core.Memory;
using Pvmd.Core.Procfs;

namespace Pvmd.Tests.Memory;

/// <summary>The pure parts of the reader: where a stop's hole ends and what verification counts.</summary>
public sealed class RemoteReaderTests
{
    private static readonly ProcMaps s_maps = new(new[]
    {
        "10000-12000 rw-p 00000000 00:00 0",
        "20000-21000 ---p 00000000 00:00 0",
        "21000-22000 r--p 00000000 00:00 0",
    }.Select(MemoryRegion.Parse));

    [Fact]
    public void ClassifyStop_InAHole_EndsAtTheNextMapping() =>
        Assert.Equal(new Hole(0x12000, 0xe000, StopReason.Unmapped), RemoteReader.ClassifyStop(s_maps, 0x12000, 0x30000));

    [Fact]
    public void ClassifyStop_InAHole_NeverPassesTheRangeEnd() =>
        Assert.Equal(new Hole(0x12000, 0x100, StopReason.Unmapped), RemoteReader.ClassifyStop(s_maps, 0x12000, 0x12100));

    [Fact]
    public void ClassifyStop_AfterTheLastMapping_RunsToTheRangeEnd() =>
        Assert.Equal(new Hole(0x22000, 0x5000, StopReason.Unmapped), RemoteReader.ClassifyStop(s_maps, 0x22000, 0x27000));

    [Fact]
    public void ClassifyStop_InAnUnreadableMapping_IsProtectionToItsEnd() =>
        Assert.Equal(new Hole(0x20000, 0x1000, StopReason.Protection), RemoteReader.ClassifyStop(s_maps, 0x20000, 0x30000));

    [Fact]
    public void ClassifyStop_InAReadableMapping_IsAFaultOfOnePage() =>
        Assert.Equal(new Hole(0x10800, 0x800, StopReason.Fault), RemoteReader.ClassifyStop(s_maps, 0x10800, 0x30000));

    [Fact]
    public void Measure_ExactTransfer_HasNoMismatch()
    {
        byte[] first = [1, 0x5A, 3, 0x5A, 0x5A];
        byte[] second = [1, 0x5A, 3, 0xA5, 0xA5];

        var check = RemoteReader.SegmentCheck.Measure(first, second, returned: 3);

        Assert.Equal(new RemoteReader.SegmentCheck(3, 3, 0, 0, 0, 2), check);
    }

    [Fact]
    public void Measure_BytesBeyondTheCount_AreCountedAsChangedBeyond()
    {
        byte[] first = [1, 2, 7, 0x5A];
        byte[] second = [1, 2, 7, 0xA5];

        var check = RemoteReader.SegmentCheck.Measure(first, second, returned: 2);

        Assert.Equal(1, check.ChangedBeyond);
        Assert.Equal(3, check.Modified);
        Assert.Equal(2, check.LastModified);
    }

    [Fact]
    public void Measure_BytesBelowTheCountLeftAsSentinels_AreUnwritten()
    {
        byte[] first = [1, 0x5A, 0x5A];
        byte[] second = [1, 0xA5, 0xA5];

        var check = RemoteReader.SegmentCheck.Measure(first, second, returned: 3);

        Assert.Equal(2, check.UnwrittenBelow);
        Assert.Equal(1, check.Modified);
    }
}
