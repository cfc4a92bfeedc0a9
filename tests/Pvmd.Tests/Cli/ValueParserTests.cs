using Pvmd.Cli.Parsing;
using Pvmd.Client;

namespace Pvmd.Tests.Cli;

public sealed class ValueParserTests
{
    [Theory]
    [InlineData("0x7ffd1000", 0x7ffd1000UL)]
    [InlineData("0X7FFD1000", 0x7ffd1000UL)]
    [InlineData("4096", 4096UL)]
    [InlineData("0x7fff_ffff_f000", 0x7ffffffff000UL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    [InlineData("0", 0UL)]
    public void TryParseAddress_HexOrDecimal_Parses(string text, ulong expected)
    {
        Assert.True(ValueParser.TryParseAddress(text, out var value, out _));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("-1")]
    [InlineData("+5")]
    [InlineData("7ffd")]
    [InlineData("0x1_0000_0000_0000_0000")]
    [InlineData("18446744073709551616")]
    public void TryParseAddress_Malformed_FailsWithAReason(string text)
    {
        Assert.False(ValueParser.TryParseAddress(text, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("16", 16UL)]
    [InlineData("0x10", 16UL)]
    [InlineData("4k", 4096UL)]
    [InlineData("4K", 4096UL)]
    [InlineData("2m", 2UL << 20)]
    [InlineData("1g", 1UL << 30)]
    public void TryParseLength_WithOrWithoutSuffix_Parses(string text, ulong expected)
    {
        Assert.True(ValueParser.TryParseLength(text, out var value, out _));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0k")]
    [InlineData("k")]
    [InlineData("17179869184g")]
    [InlineData("0x10k")]
    public void TryParseLength_ZeroMalformedOrTooLarge_Fails(string text) =>
        Assert.False(ValueParser.TryParseLength(text, out _, out _));

    [Fact]
    public void TryParseRange_AddressColonLength_Parses()
    {
        Assert.True(ValueParser.TryParseRange("0x7ffd1000:4k", out var range, out _));
        Assert.Equal(new MemoryRange(0x7ffd1000, 4096), range);
    }

    [Fact]
    public void TryParseRange_EndingJustBelowTheTop_Parses() =>
        Assert.True(ValueParser.TryParseRange("0xfffffffffffffff0:15", out _, out _));

    [Theory]
    [InlineData("0x1000")]
    [InlineData("0x1000:")]
    [InlineData(":16")]
    [InlineData("0x1000:0")]
    [InlineData("0xfffffffffffffff0:16")]
    public void TryParseRange_Malformed_Fails(string text) =>
        Assert.False(ValueParser.TryParseRange(text, out _, out _));

    [Theory]
    [InlineData("0..128", 0, 128)]
    [InlineData("5", 5, 5)]
    [InlineData("3..3", 3, 3)]
    public void TryParseIntRange_MinMaxOrSingle_Parses(string text, int min, int max)
    {
        Assert.True(ValueParser.TryParseIntRange(text, out var value, out _));
        Assert.Equal((min, max), value);
    }

    [Theory]
    [InlineData("9..3")]
    [InlineData("-1..3")]
    [InlineData("1...3")]
    [InlineData("1..")]
    [InlineData("a..b")]
    public void TryParseIntRange_Malformed_Fails(string text) =>
        Assert.False(ValueParser.TryParseIntRange(text, out _, out _));

    [Fact]
    public void TryParseIntList_CommaSeparated_Parses()
    {
        Assert.True(ValueParser.TryParseIntList("256, 1024,4095", out var values, out _));
        Assert.Equal([256, 1024, 4095], values);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1,,2")]
    [InlineData("1,-2")]
    public void TryParseIntList_Malformed_Fails(string text) =>
        Assert.False(ValueParser.TryParseIntList(text, out _, out _));

    [Theory]
    [InlineData("90 90 cc", new byte[] { 0x90, 0x90, 0xcc })]
    [InlineData("0x9090CC", new byte[] { 0x90, 0x90, 0xcc })]
    [InlineData("de\tad\nbe ef", new byte[] { 0xde, 0xad, 0xbe, 0xef })]
    public void TryParseHexBytes_DigitsInPairs_Parses(string text, byte[] expected)
    {
        Assert.True(ValueParser.TryParseHexBytes(text, out var bytes, out _));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("909")]
    [InlineData("zz")]
    public void TryParseHexBytes_Malformed_Fails(string text) =>
        Assert.False(ValueParser.TryParseHexBytes(text, out _, out _));
}
