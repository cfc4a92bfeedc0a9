using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>What identifies a probe case across daemons: op, layout (rr layouts by name), B, A, r.
/// Guard and short side are the same for the whole sweep.</summary>
internal readonly record struct CaseKey(ProbeOp Op, ProbeLayout Layout, string LayoutName, int Before, int After, int Misalignment)
    : IComparable<CaseKey>
{
    public static CaseKey Of(ProbeCase c) => new(c.Op, c.Layout, c.LayoutName, c.Before, c.After, c.Misalignment);

    /// <summary>"readv/single/B=17/A=3/r=0", or "readv/rr:NAME/..." for an rr layout.</summary>
    public override string ToString()
    {
        var layout = Layout == ProbeLayout.Rr && LayoutName.Length > 0 ? "rr:" + LayoutName : Names.Of(Layout);
        return string.Create(CultureInfo.InvariantCulture, $"{Names.Of(Op)}/{layout}/B={Before}/A={After}/r={Misalignment}");
    }

    public int CompareTo(CaseKey other)
    {
        var c = Op.CompareTo(other.Op);
        c = c != 0 ? c : Layout.CompareTo(other.Layout);
        c = c != 0 ? c : string.CompareOrdinal(LayoutName, other.LayoutName);
        c = c != 0 ? c : Before.CompareTo(other.Before);
        c = c != 0 ? c : After.CompareTo(other.After);
        return c != 0 ? c : Misalignment.CompareTo(other.Misalignment);
    }
}
