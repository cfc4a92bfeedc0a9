using System.Buffers.Binary;
using System.Text;

namespace Pvmd.Tests.Deploy;

/// <summary>The few facts of a 64-bit little-endian ELF file the image checks need: its machine,
/// its program interpreter and the shared libraries it names (DT_NEEDED).</summary>
internal sealed class ElfFile
{
    public const ushort MachineX8664 = 62;
    public const ushort MachineAarch64 = 183;

    public ushort Machine { get; }
    public string? Interpreter { get; }
    public IReadOnlyList<string> Needed { get; }

    private ElfFile(ushort machine, string? interpreter, IReadOnlyList<string> needed)
    {
        Machine = machine;
        Interpreter = interpreter;
        Needed = needed;
    }

    public static bool IsElf(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic.SequenceEqual("\u007fELF"u8);
    }

    public static ElfFile Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var span = bytes.AsSpan();
        if (!span[..4].SequenceEqual("\u007fELF"u8) || span[4] != 2 || span[5] != 1)
        {
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file");
        }
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(span[18..]);
        var programHeaders = (int)BinaryPrimitives.ReadUInt64LittleEndian(span[32..]);
        var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(span[54..]);
        var headerCount = BinaryPrimitives.ReadUInt16LittleEndian(span[56..]);

        string? interpreter = null;
        var loads = new List<(ulong VirtualAddress, ulong Offset, ulong Size)>();
        (ulong Offset, ulong Size)? dynamic = null;
        for (var i = 0; i < headerCount; i++)
        {
            var header = span[(programHeaders + i * headerSize)..];
            var type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            var virtualAddress = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
            var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            switch (type)
            {
                case 1: // PT_LOAD
                    loads.Add((virtualAddress, offset, fileSize));
                    break;
                case 2: // PT_DYNAMIC
                    dynamic = (offset, fileSize);
                    break;
                case 3: // PT_INTERP
                    interpreter = Encoding.ASCII.GetString(span.Slice((int)offset, (int)fileSize)).TrimEnd('\0');
                    break;
            }
        }

        var needed = new List<string>();
        if (dynamic is { } d)
        {
            var neededOffsets = new List<ulong>();
            ulong? stringTable = null;
            for (var entry = (int)d.Offset; entry + 16 <= (int)(d.Offset + d.Size); entry += 16)
            {
                var tag = BinaryPrimitives.ReadInt64LittleEndian(span[entry..]);
                var value = BinaryPrimitives.ReadUInt64LittleEndian(span[(entry + 8)..]);
                if (tag == 0)
                {
                    break;
                }
                if (tag == 1)
                {
                    neededOffsets.Add(value);
                }
                else if (tag == 5)
                {
                    stringTable = value;
                }
            }
            if (stringTable is { } table)
            {
                // DT_STRTAB is an address: find the file offset through the load segments.
                var load = loads.Single(l => table >= l.VirtualAddress && table < l.VirtualAddress + l.Size);
                var tableOffset = (int)(table - load.VirtualAddress + load.Offset);
                foreach (var nameOffset in neededOffsets)
                {
                    var start = tableOffset + (int)nameOffset;
                    var end = span[start..].IndexOf((byte)0);
                    needed.Add(Encoding.ASCII.GetString(span.Slice(start, end)));
                }
            }
        }
        return new ElfFile(machine, interpreter, needed);
    }
}
