namespace Pvmd.Core.Memory;

/// <summary>
/// A deliberate, labelled falsification of what the kernel did, so that the daemon's mismatch
/// reporting can be seen end to end on a host whose kernel is exact (x86 is). It makes the
/// "kernel" write <see cref="ExtraBytes"/> bytes past the count it returns, as arm64 kernels
/// before 5.14 could: the verification then finds them the way it finds real ones, and every
/// result it touched carries <c>Injected</c>. Nothing creates one unless configured.
/// </summary>
/// <param name="ExtraBytes">Bytes written past the returned count (1 .. 4096).</param>
/// <param name="Reads">Applies to verified reads whose batch stops short of its end (a hole, a
/// PROT_NONE page): the bytes land in the daemon's buffer right after the returned count.</param>
/// <param name="Probe">Applies to the short-buffer probe's cases: the case's returned count
/// is lowered by <see cref="ExtraBytes"/> (never below 0) before it is classified, so the bytes
/// the kernel really wrote lie beyond the count, as arm64 on 5.10 reported them.</param>
/// <param name="ProbeEvery">Which probe cases: every this-many-th case of a sweep, counting
/// from its first (1 = all).</param>
public sealed record FaultInjection(int ExtraBytes, bool Reads, bool Probe, int ProbeEvery = 1)
{
    /// <summary>The value the injected bytes get: neither sentinel (0x5A, 0xA5) and never in a
    /// probe pattern, so the bytes count as modified in both runs.</summary>
    public const byte Marker = 0x00;

    /// <summary>Writes the extra bytes at <paramref name="returned"/> (0 when the call failed)
    /// into <paramref name="destination"/>, never past its end.</summary>
    /// <returns>How many bytes were injected: 0 when the call filled the whole buffer.</returns>
    public int Apply(Span<byte> destination, long returned)
    {
        var from = (int)Math.Clamp(returned, 0, destination.Length);
        var count = Math.Min(ExtraBytes, destination.Length - from);
        destination.Slice(from, count).Fill(Marker);
        return count;
    }

    /// <summary>Whether the probe case with this index (0 = the sweep's first) is injected.</summary>
    public bool AppliesToProbeCase(long caseIndex) => Probe && caseIndex % ProbeEvery == 0;

    /// <summary>The returned count the probe classifies: <paramref name="ret"/> lowered by the
    /// extra bytes; a failed call (negative) stays as it is.</summary>
    public long LowerCount(long ret) => ret <= 0 ? ret : Math.Max(0, ret - ExtraBytes);
}
