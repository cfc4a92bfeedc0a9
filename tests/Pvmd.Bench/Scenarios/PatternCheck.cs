using Pvmd.TestTarget;

namespace Pvmd.Bench.Scenarios;

/// <summary>Compares delivered bytes with what the target's bulk region holds.</summary>
internal static class PatternCheck
{
    [ThreadStatic]
    private static byte[]? s_expected;

    /// <summary>Throws when <paramref name="bytes"/> are not the region's bytes at <paramref name="offset"/>.</summary>
    public static void Expect(ReadOnlySpan<byte> bytes, ulong offset, string path, uint seed = TestPattern.BulkSeed)
    {
        if (s_expected is null || s_expected.Length < bytes.Length)
        {
            s_expected = new byte[Math.Max(bytes.Length, 1 << 20)];
        }
        var expected = s_expected.AsSpan(0, bytes.Length);
        TestPattern.Fill(expected, seed, offset);
        if (!bytes.SequenceEqual(expected))
        {
            var at = bytes.CommonPrefixLength(expected);
            throw new InvalidOperationException($"{path}: wrong byte at region offset 0x{offset + (ulong)at:x} (0x{bytes[at]:x2}, expected 0x{expected[at]:x2})");
        }
    }
}
