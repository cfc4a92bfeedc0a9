using Google.Protobuf;
using Pvmd.Cli.Formatting;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Cli;

/// <summary>The xxd-like dump: line layout, partial lines, and holes as explicit lines, never zeros.</summary>
public sealed class HexDumpTests
{
    private static string Dump(RangeResult result, params Chunk[] chunks)
    {
        var output = new StringWriter { NewLine = "\n" };
        new HexDumpWriter(output).WriteRange(new RangeReadResult(result, chunks));
        return output.ToString();
    }

    private static Chunk Chunk(ulong address, byte[] data) => new() { Address = address, Data = ByteString.CopyFrom(data) };

    private static byte[] Bytes(int count, int start = 0) => [.. Enumerable.Range(start, count).Select(i => (byte)i)];

    [Fact]
    public void FormatLine_FullLine_IsAddressHexInPairsAndAscii()
    {
        var line = HexDumpWriter.FormatLine(0x7f0000001000, "Hello, world!\n\0\u00ff"u8.ToArray()[..16]);

        Assert.Equal("00007f0000001000: 4865 6c6c 6f2c 2077 6f72 6c64 210a 00c3  Hello, world!...", line);
    }

    [Fact]
    public void FormatLine_PartialLastLine_KeepsTheAsciiColumnAligned()
    {
        var full = HexDumpWriter.FormatLine(0x1000, Bytes(16, 0x41));
        var partial = HexDumpWriter.FormatLine(0x1010, Bytes(3, 0x41));

        Assert.Equal("0000000000001010: 4142 43                                  ABC", partial);
        Assert.Equal(full.IndexOf("  ABCDEFGHIJKLMNOP", StringComparison.Ordinal), partial.IndexOf("  ABC", StringComparison.Ordinal));
    }

    [Fact]
    public void FormatLine_NonPrintableBytes_AreDots()
    {
        var line = HexDumpWriter.FormatLine(0, [0x00, 0x1f, 0x7f, 0x80, 0x20, 0x7e]);

        Assert.EndsWith("  .... ~", line, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRange_HoleBetweenChunks_IsAnExplicitLineNotZeros()
    {
        var result = new RangeResult { Address = 0x1ff0, Length = 0x1020, BytesRead = 0x20, UnreadableBytes = 0x1000 };
        result.Holes.Add(new Hole { Address = 0x2000, Length = 0x1000, Reason = StopReason.Unmapped });

        var dump = Dump(result, Chunk(0x1ff0, Bytes(16)), Chunk(0x3000, Bytes(16)));

        var lines = dump.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("0000000000001ff0: 0001", lines[0], StringComparison.Ordinal);
        Assert.Equal("--- 0x0000000000002000 4096 bytes unreadable (unmapped) ---", lines[1]);
        Assert.StartsWith("0000000000003000: 0001", lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain("0000 0000", dump, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRange_ChunksSplitMidLine_ContinueTheSameLine()
    {
        var result = new RangeResult { Address = 0x1000, Length = 20, BytesRead = 20 };

        var dump = Dump(result, Chunk(0x1000, Bytes(5)), Chunk(0x1005, Bytes(15, 5)));

        Assert.Equal(
            "0000000000001000: 0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n" +
            "0000000000001010: 1011 1213                                ....\n",
            dump);
    }

    [Fact]
    public void WriteRange_TrailingHole_EndsTheDumpAfterAPartialLine()
    {
        var result = new RangeResult { Address = 0x1ffc, Length = 0x1004, BytesRead = 4, UnreadableBytes = 0x1000 };
        result.Holes.Add(new Hole { Address = 0x2000, Length = 0x1000, Reason = StopReason.Protection });

        var dump = Dump(result, Chunk(0x1ffc, [0x41, 0x42, 0x43, 0x44]));

        Assert.Equal(
            "0000000000001ffc: 4142 4344                                ABCD\n" +
            "--- 0x0000000000002000 4096 bytes unreadable (protection) ---\n",
            dump);
    }

    [Fact]
    public void WriteRange_StretchDescribedNeitherAsBytesNorHole_IsStillShown()
    {
        var result = new RangeResult { Address = 0x1000, Length = 32, BytesRead = 16 };

        var dump = Dump(result, Chunk(0x1000, Bytes(16)));

        Assert.EndsWith("--- 0x0000000000001010 16 bytes unreadable (missing from the daemon's answer) ---\n", dump, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRange_RangeEndingAtTheTopOfTheAddressSpace_DoesNotOverflow()
    {
        var result = new RangeResult { Address = ulong.MaxValue - 15, Length = 16, UnreadableBytes = 16 };
        result.Holes.Add(new Hole { Address = ulong.MaxValue - 15, Length = 16, Reason = StopReason.Unmapped });

        var dump = Dump(result);

        Assert.Equal("--- 0xfffffffffffffff0 16 bytes unreadable (unmapped) ---\n", dump);
    }
}
