using Pvmd.Core.Procfs;

namespace Pvmd.Tests.Procfs;

public sealed class ProcMapsTests
{
    private static readonly ProcMaps s_maps = new(new[]
    {
        "00400000-00401000 r-xp 00000000 08:01 1234     /usr/bin/target with spaces",
        "00401000-00402000 rw-p 00001000 08:01 1234     /usr/bin/target with spaces",
        "00500000-00502000 ---p 00000000 00:00 0 ",
        "7ffd0000-7ffd1000 rw-p 00000000 00:00 0        [stack]",
    }.Select(MemoryRegion.Parse));

    [Fact]
    public void Parse_KeepsPathWithSpacesAndAllFields()
    {
        var region = s_maps.Regions[0];

        Assert.Equal(0x400000UL, region.Start);
        Assert.Equal(0x401000UL, region.End);
        Assert.Equal("r-xp", region.Permissions);
        Assert.Equal("08:01", region.Device);
        Assert.Equal(1234UL, region.Inode);
        Assert.Equal("/usr/bin/target with spaces", region.Path);
        Assert.True(region.CanRead);
        Assert.False(region.CanWrite);
    }

    [Fact]
    public void Parse_AnonymousRegionHasEmptyPath() => Assert.Equal("", s_maps.Regions[2].Path);

    [Theory]
    [InlineData(0x400000UL, 0x400000UL)]
    [InlineData(0x401fffUL, 0x401000UL)]
    [InlineData(0x7ffd0800UL, 0x7ffd0000UL)]
    public void Find_ReturnsTheRegionHoldingTheAddress(ulong address, ulong expectedStart) =>
        Assert.Equal(expectedStart, s_maps.Find(address)?.Start);

    [Theory]
    [InlineData(0x3fffffUL)]
    [InlineData(0x402000UL)]
    [InlineData(0x7ffd1000UL)]
    public void Find_ReturnsNullInAHole(ulong address) => Assert.Null(s_maps.Find(address));

    [Fact]
    public void Parse_RejectsATruncatedLine() => Assert.Throws<FormatException>(() => MemoryRegion.Parse("00400000-00401000 r-xp"));
}
