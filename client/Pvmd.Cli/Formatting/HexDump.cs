using System.Globalization;
using System.Text;
using Pvmd.Client;

namespace Pvmd.Cli.Formatting;

/// <summary>An xxd-like dump of a target's memory: the address, 16 bytes a line in groups of
/// two, and an ASCII column. Unreadable stretches are explicit lines, never zeros:
/// <c>--- 0x00007f0000001000 4096 bytes unreadable (unmapped) ---</c>.</summary>
/// <remarks>Lines start at the first address of each readable stretch, not at 16-byte
/// boundaries, as xxd starts at the file's offset; a stretch that arrives in several chunks is
/// one continuous dump.</remarks>
internal sealed class HexDumpWriter(TextWriter output)
{
    public const int BytesPerLine = 16;

    // 16 bytes as 8 groups of 4 hex digits, one space between groups.
    private const int HexWidth = (BytesPerLine * 2) + (BytesPerLine / 2) - 1;

    private readonly byte[] _line = new byte[BytesPerLine];
    private int _count;
    private ulong _lineAddress;

    /// <summary>Dumps one range: its chunks and its holes in address order, and an explicit
    /// line for any stretch the daemon described neither as bytes nor as a hole.</summary>
    public void WriteRange(RangeReadResult range)
    {
        var items = range.Chunks.Select(c => (Address: c.Address, Length: (ulong)c.Data.Length, Chunk: (V1.Chunk?)c, Hole: (V1.Hole?)null))
            .Concat(range.Result.Holes.Select(h => (h.Address, h.Length, Chunk: (V1.Chunk?)null, Hole: (V1.Hole?)h)))
            .OrderBy(i => i.Address);

        // UInt128: a range may end exactly at the top of the address space.
        var cursor = (UInt128)range.Address;
        foreach (var item in items)
        {
            if (item.Address > cursor)
            {
                WriteMissing((ulong)cursor, (ulong)(item.Address - cursor));
            }

            if (item.Chunk is { } chunk)
            {
                WriteData(chunk.Address, chunk.Data.Span);
            }
            else
            {
                WriteHole(item.Hole!.Address, item.Hole.Length, Names.Of(item.Hole.Reason));
            }

            cursor = UInt128.Max(cursor, (UInt128)item.Address + item.Length);
        }

        var end = (UInt128)range.Address + range.Length;
        if (cursor < end)
        {
            WriteMissing((ulong)cursor, (ulong)(end - cursor));
        }

        Flush();
    }

    /// <summary>Adds readable bytes; they continue the current line when they follow it.</summary>
    public void WriteData(ulong address, ReadOnlySpan<byte> data)
    {
        if (_count > 0 && address != _lineAddress + (ulong)_count)
        {
            Flush();
        }

        for (var i = 0; i < data.Length; i++)
        {
            if (_count == 0)
            {
                _lineAddress = address + (ulong)i;
            }

            _line[_count++] = data[i];
            if (_count == BytesPerLine)
            {
                Flush();
            }
        }
    }

    /// <summary>Writes an unreadable stretch as its own line.</summary>
    public void WriteHole(ulong address, ulong length, string reason)
    {
        Flush();
        output.WriteLine(FormatHole(address, length, reason));
    }

    /// <summary>Ends the current (partial) line.</summary>
    public void Flush()
    {
        if (_count > 0)
        {
            output.WriteLine(FormatLine(_lineAddress, _line.AsSpan(0, _count)));
            _count = 0;
        }
    }

    /// <summary>One dump line: up to 16 bytes; a short line is padded so the ASCII column aligns.</summary>
    public static string FormatLine(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length is 0 or > BytesPerLine)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"A line holds 1 to {BytesPerLine} bytes.");
        }

        var line = new StringBuilder(18 + HexWidth + 2 + BytesPerLine);
        line.Append(address.ToString("x16", CultureInfo.InvariantCulture)).Append(": ");
        var hexStart = line.Length;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (i > 0 && i % 2 == 0)
            {
                line.Append(' ');
            }

            line.Append(bytes[i].ToString("x2", CultureInfo.InvariantCulture));
        }

        line.Append(' ', HexWidth - (line.Length - hexStart)).Append("  ");
        foreach (var b in bytes)
        {
            line.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        }

        return line.ToString();
    }

    /// <summary>The line standing for an unreadable stretch.</summary>
    public static string FormatHole(ulong address, ulong length, string reason) =>
        string.Create(CultureInfo.InvariantCulture, $"--- 0x{address:x16} {length} bytes unreadable ({reason}) ---");

    private void WriteMissing(ulong address, ulong length) =>
        WriteHole(address, length, "missing from the daemon's answer");
}
