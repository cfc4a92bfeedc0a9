using System.Globalization;
using Pvmd.V1;

namespace Pvmd.Cli.Formatting;

/// <summary>One-line accounts of the daemon's transfer checks.</summary>
internal static class CheckText
{
    public static string Describe(TransferCheck c) => string.Create(CultureInfo.InvariantCulture,
        $"kernel returned {c.Returned}, bytes changed {c.Actual}, changed beyond returned {c.ChangedBeyondReturned}, unwritten below returned {c.UnwrittenBelowReturned}");

    public static string Describe(WriteCheck c) => string.Create(CultureInfo.InvariantCulture,
        $"bytes changed {c.BytesChanged}, first changed at {Offset(c.FirstChangedOffset)}, first differing from the data at {Offset(c.FirstDifferingOffset)}, changed beyond returned {c.ChangedBeyondReturnedCount}, unwritten below returned {c.UnwrittenBelowReturned}");

    public static string Verdict(bool mismatch) => mismatch ? "MISMATCH" : "ok";

    private static string Offset(long offset) =>
        offset < 0 ? "none" : "+" + offset.ToString(CultureInfo.InvariantCulture);
}
