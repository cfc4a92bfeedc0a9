using Pvmd.Core.Memory;

namespace Pvmd.Server.Telemetry;

/// <summary>
/// One disagreement between the count the kernel returned and the bytes it really changed,
/// as it goes onto a span event, a log line and the mismatch counter.
/// </summary>
/// <param name="Op">"read", "write", or the probe's "probe_readv" / "probe_writev".</param>
/// <param name="Class">The short-copy probe's class names in lowercase: over_report (the count
/// includes bytes that were not written), short_dirty (bytes past the count changed), and for
/// probe cases also short_clean, efault_clean, efault_dirty.</param>
/// <param name="Returned">The kernel's count (-1 when the call failed).</param>
/// <param name="Actual">Bytes really changed: what the verification saw.</param>
/// <param name="FirstModified">Offset of the first changed byte from the transfer's start; -1 if none.</param>
/// <param name="LastModified">Offset of the last changed byte; -1 if none.</param>
/// <param name="Injected">The fault injection, not the kernel, made (part of) it.</param>
public sealed record ByteCountMismatch(
    string Op,
    string Class,
    long Returned,
    long Actual,
    ulong ChangedBeyondReturned,
    ulong UnwrittenBelowReturned,
    long FirstModified,
    long LastModified,
    bool Injected)
{
    /// <summary>The span status description: short, and the same wherever it is shown.</summary>
    public string Description => Injected
        ? $"byte-count mismatch ({Class}, injected): returned {Returned}, changed {Actual}"
        : $"byte-count mismatch ({Class}): returned {Returned}, changed {Actual}";

    /// <summary>The mismatch in a verified read batch (or range), or null when the count was right.</summary>
    public static ByteCountMismatch? Of(TransferCheck check) => check.Mismatch
        ? new ByteCountMismatch(
            "read",
            Classify(check.UnwrittenBelowReturned, check.ChangedBeyondReturned),
            (long)check.Returned,
            (long)check.Actual,
            check.ChangedBeyondReturned,
            check.UnwrittenBelowReturned,
            check.FirstModifiedOffset,
            check.LastModifiedOffset,
            check.Injected)
        : null;

    /// <summary>The mismatch in a verified write, or null when the count was right. "Actual" is
    /// what the snapshots show written: the returned bytes that hold the data, plus the bytes
    /// changed outside them.</summary>
    public static ByteCountMismatch? Of(WriteOutcome outcome) => outcome.Check is { Mismatch: true } check
        ? new ByteCountMismatch(
            "write",
            Classify(check.UnwrittenBelowReturned, check.ChangedBeyondReturned),
            (long)outcome.Returned,
            (long)(outcome.Returned - check.UnwrittenBelowReturned + check.ChangedBeyondReturned),
            check.ChangedBeyondReturned,
            check.UnwrittenBelowReturned,
            check.FirstChangedOffset,
            check.LastChangedOffset,
            Injected: false)
        : null;

    /// <summary>Reporting bytes that were not written is the worse fault (the kernel's rule is
    /// "at least as much as reported"), so it names the class when both happen.</summary>
    private static string Classify(ulong unwrittenBelow, ulong changedBeyond) =>
        unwrittenBelow != 0 ? "over_report" : changedBeyond != 0 ? "short_dirty" : "count_differs";
}
