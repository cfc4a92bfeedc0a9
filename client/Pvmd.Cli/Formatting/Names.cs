using System.Globalization;
using Pvmd.V1;

namespace Pvmd.Cli.Formatting;

/// <summary>The words pvmctl uses for the contract's enums, in text and JSON output and on the
/// command line alike. Part of the JSON API: change them only with a version bump.</summary>
internal static class Names
{
    public static string Of(StopReason reason) => reason switch
    {
        StopReason.Unmapped => "unmapped",
        StopReason.Protection => "protection",
        StopReason.Fault => "fault",
        StopReason.ProcessGone => "process-gone",
        StopReason.Unspecified => "unspecified",
        _ => Unknown((int)reason),
    };

    public static string Of(CaseClass value) => value switch
    {
        CaseClass.Exact => "EXACT",
        CaseClass.ShortClean => "SHORT_CLEAN",
        CaseClass.ShortDirty => "SHORT_DIRTY",
        CaseClass.OverReport => "OVER_REPORT",
        CaseClass.EfaultClean => "EFAULT_CLEAN",
        CaseClass.EfaultDirty => "EFAULT_DIRTY",
        CaseClass.Unspecified => "UNSPECIFIED",
        _ => Unknown((int)value),
    };

    public static string Of(ProbeOp op) => op switch
    {
        ProbeOp.Readv => "readv",
        ProbeOp.Writev => "writev",
        ProbeOp.Unspecified => "both",
        _ => Unknown((int)op),
    };

    public static string Of(GuardKind guard) => guard switch
    {
        GuardKind.ProtNone or GuardKind.Unspecified => "prot-none",
        GuardKind.Munmap => "munmap",
        _ => Unknown((int)guard),
    };

    public static string Of(ProbeLayout layout) => layout switch
    {
        ProbeLayout.Single or ProbeLayout.Unspecified => "single",
        ProbeLayout.Split => "split",
        ProbeLayout.Rr => "rr",
        _ => Unknown((int)layout),
    };

    public static string Of(ShortSide side) => side switch
    {
        ShortSide.Local or ShortSide.Unspecified => "local",
        ShortSide.Remote => "remote",
        _ => Unknown((int)side),
    };

    /// <summary>The classes in the order tables list them.</summary>
    public static IReadOnlyList<CaseClass> Classes { get; } =
        [CaseClass.Exact, CaseClass.ShortClean, CaseClass.ShortDirty, CaseClass.OverReport, CaseClass.EfaultClean, CaseClass.EfaultDirty];

    /// <summary>"0x" and lowercase hex digits, no padding.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Unknown(int value) => "unknown-" + value.ToString(CultureInfo.InvariantCulture);
}
