namespace Pvmd.TestTarget;

/// <summary>
/// The content of the test target's regions: the one definition that the target fills its
/// memory with and the tests expect back (this file is linked into both projects).
/// The byte at offset i of a region is byte (i mod 8) of a hash of (seed, i / 8): it has no period, so a page
/// delivered from the wrong place shows, and it is never 0x00 (a zero-filled hole shows)
/// nor 0x5A or 0xA5 (the sentinels of the daemon's verify mode).
/// </summary>
internal static class TestPattern
{
    /// <summary>Seed of the <c>pattern</c> region.</summary>
    public const uint PatternSeed = 0;

    /// <summary>Seed of the <c>hole</c> region: offsets count from the region's first page,
    /// so the page after the hole starts at offset 2 * page size.</summary>
    public const uint HoleSeed = 1;

    /// <summary>Seed of the readable first page of the <c>protnone</c> region.</summary>
    public const uint ProtNoneSeed = 2;

    /// <summary>Seed of the <c>readonly</c> region.</summary>
    public const uint ReadOnlySeed = 3;

    /// <summary>Seed of the <c>bulk</c> region (<c>--bulk-mib</c>).</summary>
    public const uint BulkSeed = 4;

    /// <summary>The byte at <paramref name="offset"/> of a region filled with <paramref name="seed"/>.</summary>
    public static byte At(uint seed, ulong offset) => Pick(Word(seed, offset >> 3), offset);

    /// <summary>Writes the bytes at offsets <paramref name="offset"/> .. offset + destination.Length.</summary>
    public static void Fill(Span<byte> destination, uint seed, ulong offset)
    {
        // One hash serves the eight bytes of an aligned 8-byte word: filling 64 MiB stays fast.
        var i = 0;
        while (i < destination.Length)
        {
            var at = offset + (ulong)i;
            var word = Word(seed, at >> 3);
            do
            {
                destination[i++] = Pick(word, at++);
            }
            while (i < destination.Length && (at & 7) != 0);
        }
    }

    /// <summary>A hash of (seed, word index): the finalizer of MurmurHash3 (fmix64), in which
    /// every input bit flips about half the output bits.</summary>
    private static ulong Word(uint seed, ulong index)
    {
        var x = index ^ ((ulong)seed << 48);
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53UL;
        x ^= x >> 33;
        return x;
    }

    private static byte Pick(ulong word, ulong offset)
    {
        var value = (byte)(word >> (int)((offset & 7) * 8));
        return value is 0x00 or 0x5A or 0xA5 ? (byte)(value ^ 0x01) : value;
    }

    /// <summary>The expected bytes of a stretch of a region.</summary>
    public static byte[] Bytes(uint seed, ulong offset, int length)
    {
        var bytes = new byte[length];
        Fill(bytes, seed, offset);
        return bytes;
    }
}
