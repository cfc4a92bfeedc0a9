namespace Pvmd.Core.Probe;

/// <summary>The bytes the probe writes: two sentinels for the destination and a source
/// pattern that never equals either sentinel nor 0, so every copied byte is seen as a
/// change in both runs and a zero-fill is never mistaken for a copy.</summary>
public static class ProbePattern
{
    public const byte FirstSentinel = 0x5A;
    public const byte SecondSentinel = 0xA5;

    // 253 = 11 * 23 and 37 is prime to it, so the step visits every residue; neighbours
    // differ, so a copy shifted by one byte does not pass for the pattern.
    private const int Period = 253;
    private const int Step = 37;

    /// <summary>The pattern byte at an offset of the probe's memory layout.</summary>
    public static byte At(long offset)
    {
        var value = (int)(offset * Step % Period) + 1;
        if (value >= FirstSentinel)
        {
            value++;
        }
        if (value >= SecondSentinel)
        {
            value++;
        }
        return (byte)value;
    }

    /// <summary>Fills a span with the pattern of the offsets starting at <paramref name="startOffset"/>.</summary>
    public static void Fill(Span<byte> destination, long startOffset)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = At(startOffset + i);
        }
    }
}
