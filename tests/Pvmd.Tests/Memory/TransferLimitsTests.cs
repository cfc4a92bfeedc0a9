using Pvmd.Core;
using Pvmd.Core.Memory;

namespace Pvmd.Tests.Memory;

public sealed class TransferLimitsTests
{
    private static readonly TransferLimits s_limits = new(MaxRanges: 4, MaxBytes: 1000, ChunkBytes: 4096);

    public static TheoryData<MemoryRange[], string> RefusedReads => new()
    {
        { [], "at least one range" },
        { [new(0x1000, 0)], "length 0" },
        { [new(0x1000, 1001)], "at most 1000" },
        { [new(0x1000, 600), new(0x2000, 600)], "add up to more than" },
        { [new(ulong.MaxValue - 5, 10)], "past the end of the address space" },
        { [new(0x1000, 1), new(0x1000, 1), new(0x1000, 1), new(0x1000, 1), new(0x1000, 1)], "at most 4 per request" },
    };

    [Theory]
    [MemberData(nameof(RefusedReads))]
    public void ValidateRead_RefusesMalformedRanges(MemoryRange[] ranges, string expected)
    {
        var error = Assert.Throws<InvalidRequestException>(() => s_limits.ValidateRead(ranges));

        Assert.Contains(expected, error.Message);
        Assert.Equal("INVALID_REQUEST", error.Reason);
    }

    [Fact]
    public void ValidateRead_AcceptsRangesUpToTheLimits() =>
        s_limits.ValidateRead([new(0x1000, 500), new(0x7fff_ffff_f000, 500)]);

    [Fact]
    public void ValidateWrite_RefusesMoreThanTheWriteLimit()
    {
        var limits = s_limits with { MaxWriteBytes = 8 };

        var error = Assert.Throws<InvalidRequestException>(() => limits.ValidateWrite(0x1000, 9));

        Assert.Contains("at most 8 per write", error.Message);
    }

    [Fact]
    public void ValidateRead_AcceptsAddressesAboveUserSpace() =>
        s_limits.ValidateRead([new(0xffff_8000_0000_0000, 16)]);

    [Fact]
    public void ValidateWrite_RefusesEmptyData() =>
        Assert.Throws<InvalidRequestException>(() => s_limits.ValidateWrite(0x1000, 0));
}
