using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>Which probe classes are count/bytes mismatches, and the counts of a summary.</summary>
/// <remarks>The kernel's rule (include/linux/uaccess.h, as relaxed in practice) is that a
/// returned count must be filled at least as far as reported and nothing past the buffer may
/// change. A short count that is honest (SHORT_CLEAN: nothing changed beyond it) and a failure
/// that changed nothing (EFAULT_CLEAN) let a caller trust the count; the other three do not:
/// SHORT_DIRTY (bytes beyond the count changed), OVER_REPORT (bytes counted but not written),
/// EFAULT_DIRTY (the call failed yet wrote).</remarks>
internal static class ProbeVerdict
{
    public static bool IsMismatch(CaseClass value) =>
        value is CaseClass.ShortDirty or CaseClass.OverReport or CaseClass.EfaultDirty;

    public static ulong Count(ProbeSummary summary, CaseClass value) =>
        summary.Counts.Where(c => c.Class == value).Aggregate(0UL, (sum, c) => sum + c.Count);

    public static bool HasMismatch(ProbeSummary summary) =>
        summary.Counts.Any(c => c.Count > 0 && IsMismatch(c.Class));
}
