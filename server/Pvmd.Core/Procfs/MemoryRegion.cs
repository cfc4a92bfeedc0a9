using System.Globalization;

namespace Pvmd.Core.Procfs;

/// <summary>One line of /proc/PID/maps.</summary>
public sealed record MemoryRegion(ulong Start, ulong End, string Permissions, ulong Offset, string Device, ulong Inode, string Path)
{
    public bool CanRead => Permissions.Length > 0 && Permissions[0] == 'r';
    public bool CanWrite => Permissions.Length > 1 && Permissions[1] == 'w';
    public ulong Size => End - Start;
    public bool Contains(ulong address) => address >= Start && address < End;

    /// <summary>Parses "start-end perms offset dev inode [path]".</summary>
    public static MemoryRegion Parse(string line)
    {
        var span = line.AsSpan();
        var fields = new string[5];
        var index = 0;
        var position = 0;
        while (index < 5)
        {
            while (position < span.Length && span[position] == ' ')
            {
                position++;
            }
            var start = position;
            while (position < span.Length && span[position] != ' ')
            {
                position++;
            }
            if (start == position)
            {
                throw new FormatException($"maps line has too few fields: {line}");
            }
            fields[index++] = line[start..position];
        }
        // The path is everything after the inode, leading spaces removed (it may hold spaces).
        var path = position < line.Length ? line[position..].TrimStart(' ') : "";
        var dash = fields[0].IndexOf('-');
        if (dash < 0)
        {
            throw new FormatException($"maps line without start-end: {line}");
        }
        return new MemoryRegion(
            ulong.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            fields[1],
            ulong.Parse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            fields[3],
            ulong.Parse(fields[4], CultureInfo.InvariantCulture),
            path);
    }
}
