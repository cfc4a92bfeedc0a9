namespace Pvmd.Cli.Formatting;

/// <summary>A plain text table: columns padded to their widest cell, two spaces apart;
/// right-aligned columns for numbers. The last column is not padded.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private readonly bool[] _rightAligned = new bool[headers.Length];

    public TextTable AlignRight(params int[] columns)
    {
        foreach (var column in columns)
        {
            _rightAligned[column] = true;
        }

        return this;
    }

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"Expected {headers.Length} cells, got {cells.Length}.", nameof(cells));
        }

        _rows.Add(cells);
    }

    public int Count => _rows.Count;

    public void WriteTo(TextWriter writer, string indent = "")
    {
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in _rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        WriteRow(writer, indent, headers, widths);
        foreach (var row in _rows)
        {
            WriteRow(writer, indent, row, widths);
        }
    }

    private void WriteRow(TextWriter writer, string indent, string[] cells, int[] widths)
    {
        var parts = new string[cells.Length];
        for (var i = 0; i < cells.Length; i++)
        {
            var last = i == cells.Length - 1;
            parts[i] = _rightAligned[i] ? cells[i].PadLeft(widths[i]) : last ? cells[i] : cells[i].PadRight(widths[i]);
        }

        writer.WriteLine(indent + string.Join("  ", parts).TrimEnd());
    }
}
