using Pvmd.Core.Procfs;

namespace Pvmd.Tests;

public sealed class ProcStatTests
{
    [Fact]
    public void Parse_CommandWithSpacesAndParentheses_CountsFieldsFromLastParenthesis()
    {
        var line = "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 98765 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

        var stat = ProcStat.Parse(line);

        Assert.Equal(1234, stat.Pid);
        Assert.Equal("a b) c)", stat.Command);
        Assert.Equal('S', stat.State);
        Assert.Equal(1, stat.ParentPid);
        Assert.Equal(98765UL, stat.StartTime);
        Assert.False(stat.IsKernelThread);
    }
}
