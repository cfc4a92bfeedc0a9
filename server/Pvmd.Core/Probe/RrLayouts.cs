namespace Pvmd.Core.Probe;

/// <summary>Where an iovec of a fixed layout is placed: from a page-aligned start in fully
/// mapped memory, or from the break (the first byte of the guard page).</summary>
internal enum Anchor
{
    Start,
    Break,
}

internal readonly record struct AnchoredIovec(Anchor Anchor, int Offset, int Length);

/// <summary>One fixed layout: the destination's and the source's iovecs, and the count a
/// kernel that copies up to the break returns (rr's x86 answer).</summary>
internal sealed record FixedLayout(string Name, AnchoredIovec[] Destination, AnchoredIovec[] Source, int ExpectedRet)
{
    /// <summary>The side whose iovecs reach the break is the short one.</summary>
    public bool DestinationIsShort => Array.Exists(Destination, iovec => iovec.Anchor == Anchor.Break);

    /// <summary>Bytes of the short side before and after the break.</summary>
    public (int Before, int After) AroundBreak()
    {
        var before = 0;
        var after = 0;
        foreach (var iovec in DestinationIsShort ? Destination : Source)
        {
            if (iovec.Anchor != Anchor.Break)
            {
                continue;
            }
            var end = iovec.Offset + iovec.Length;
            before += Math.Max(0, Math.Min(end, 0) - iovec.Offset);
            after += Math.Max(0, end - Math.Max(iovec.Offset, 0));
        }
        return (before, after);
    }
}

/// <summary>
/// The four cases of rr's src/test/vm_readv_writev.c. rr runs them in one page of its own
/// process, with the page after it unmapped; here the destination is the local buffer for
/// readv and the target's for writev (the source the other one), and each side has its own
/// break, so the same iovecs relative to the break and to a page start apply to both ops.
/// </summary>
internal static class RrLayouts
{
    public static IReadOnlyList<FixedLayout> Cases { get; } =
    [
        // Two destination iovecs with a gap; the second straddles the break, so one of the
        // five source bytes has nowhere to go.
        new("dest-straddles-break",
            [new(Anchor.Break, -6, 3), new(Anchor.Break, -1, 2)],
            [new(Anchor.Start, 0, 2), new(Anchor.Start, 3, 3)],
            4),
        // The same, but the second iovec starts one byte earlier: all five bytes fit before
        // the break and the spare destination byte lies past it.
        new("dest-spare-past-break",
            [new(Anchor.Break, -6, 3), new(Anchor.Break, -2, 3)],
            [new(Anchor.Start, 0, 2), new(Anchor.Start, 3, 3)],
            5),
        // The source straddles the break: one readable byte.
        new("source-straddles-break",
            [new(Anchor.Start, 0, 3)],
            [new(Anchor.Break, -1, 2)],
            1),
        // Two source iovecs, the second straddling the break, into two destination iovecs
        // with a gap: four readable bytes.
        new("source-iovecs-meet-break",
            [new(Anchor.Start, 0, 1), new(Anchor.Start, 2, 4)],
            [new(Anchor.Break, -4, 2), new(Anchor.Break, -2, 3)],
            4),
    ];
}
