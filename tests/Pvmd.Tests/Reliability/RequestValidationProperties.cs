using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Pvmd.Core;
using Pvmd.Core.Memory;

namespace Pvmd.Tests.Reliability;

/// <summary>
/// Property-based tests of request validation: for any list of ranges, built from the values
/// where validation goes wrong in practice (0, 1, the limits and one past them, the 2^63 and
/// 2^64 boundaries: any address may be asked for, but a range may not wrap past 2^64), the daemon's validation accepts exactly what a plain statement of the
/// rules accepts, and refuses everything else with <see cref="InvalidRequestException"/> only.
/// </summary>
public sealed class RequestValidationProperties
{
    private const int MaxRanges = 8;
    private const ulong MaxBytes = 1 << 20;
    private const int MaxWriteBytes = 1 << 19;

    private static readonly TransferLimits s_limits = new(MaxRanges, MaxBytes, 4096, MaxWriteBytes);

    private static readonly Gen<ulong> s_addresses = Gen.OneOf(
        Gen.Elements<ulong>(0UL, 1UL, 4096UL, 0x7fff_ffff_f000UL, (ulong)long.MaxValue - MaxBytes, (ulong)long.MaxValue - 1, (ulong)long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue - 1, ulong.MaxValue),
        ArbMap.Default.GeneratorFor<ulong>());

    private static readonly Gen<ulong> s_lengths = Gen.OneOf(
        Gen.Elements<ulong>(0UL, 1UL, 2UL, 4095UL, 4096UL, MaxBytes / 2, MaxBytes - 1, MaxBytes, MaxBytes + 1, (ulong)long.MaxValue, ulong.MaxValue),
        Gen.Choose(0, (int)MaxBytes * 2).Select(l => (ulong)l),
        ArbMap.Default.GeneratorFor<ulong>());

    private static readonly Gen<MemoryRange[]> s_requests =
        from count in Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Choose(1, MaxRanges)), (1, Gen.Choose(MaxRanges + 1, MaxRanges * 2)))
        from ranges in Gen.ArrayOf(Gen.Zip(s_addresses, s_lengths).Select(p => new MemoryRange(p.Item1, p.Item2)), count)
        select ranges;

    /// <summary>The rules, stated independently of the implementation.</summary>
    private static bool Acceptable(MemoryRange[] ranges)
    {
        if (ranges.Length is 0 or > MaxRanges)
        {
            return false;
        }
        var total = System.Numerics.BigInteger.Zero;
        foreach (var range in ranges)
        {
            var end = (System.Numerics.BigInteger)range.Address + range.Length;
            if (range.Length == 0 || range.Length > MaxBytes || end > ulong.MaxValue)
            {
                return false;
            }
            total += range.Length;
        }
        return total <= MaxBytes;
    }

    [Property(MaxTest = 5000)]
    public Property ReadValidationAcceptsExactlyTheRules() =>
        Prop.ForAll(s_requests.ToArbitrary(), ranges =>
        {
            var accepted = true;
            try
            {
                s_limits.ValidateRead(ranges);
            }
            catch (InvalidRequestException)
            {
                accepted = false;
            }
            return (accepted == Acceptable(ranges)).Label($"{ranges.Length} ranges: {string.Join(", ", ranges.Select(r => $"0x{r.Address:x}+{r.Length}"))}");
        });

    [Property(MaxTest = 5000)]
    public Property WriteValidationAcceptsExactlyTheRules() =>
        Prop.ForAll(s_addresses.ToArbitrary(), Gen.Choose(0, (int)MaxBytes * 2).ToArbitrary(), (address, length) =>
        {
            var accepted = true;
            try
            {
                s_limits.ValidateWrite(address, length);
            }
            catch (InvalidRequestException)
            {
                accepted = false;
            }
            return accepted == (length > 0 && length <= MaxWriteBytes && Acceptable([new MemoryRange(address, (ulong)length)]));
        });
}
