using System.Text.Json;
using Google.Protobuf;
using Pvmd.Cli.Formatting;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Cli;

/// <summary>The JSON output is an API: these tests pin its names and shapes.</summary>
public sealed class JsonShapeTests
{
    private static JsonElement Parse(Action<Utf8JsonWriter> write)
    {
        var line = JsonOutput.ToLine(write);
        Assert.DoesNotContain('\n', line);
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private static ProbeSummary Summary(params (CaseClass Class, ulong Count)[] counts)
    {
        var summary = new ProbeSummary
        {
            Total = counts.Aggregate(0UL, (sum, c) => sum + c.Count),
            ElapsedSeconds = 1.5,
            TargetPid = 77,
            Host = new Platform { Arch = "aarch64", KernelRelease = "5.10.0-28-arm64", PageSize = 4096, Hwcap = 0xefffffffffffffff },
        };
        foreach (var (cls, count) in counts)
        {
            summary.Counts.Add(new ClassCount { Class = cls, Count = count });
        }

        return summary;
    }

    [Fact]
    public void ProbeCase_HasTheDocumentedCamelCaseFields()
    {
        var c = new ProbeCase
        {
            Op = ProbeOp.Readv, Layout = ProbeLayout.Single, Guard = GuardKind.ProtNone, ShortSide = ShortSide.Local,
            Before = 17, After = 3, Misalignment = 1, Ret = 8, ErrnoName = "", RunsAgree = true, Deficit = 9, ExpectedRet = 17,
            FirstModified = 0, LastModified = 11, ModifiedCount = 12, ModifiedBeyondRet = 4, OverReported = 0,
            ModifiedBeforeBuffer = 0, SourceChanged = false, Class = CaseClass.ShortDirty,
        };
        c.ModifiedBeyondRanges.Add(new Hole { Address = 8, Length = 4 });

        var json = Parse(w => JsonOutput.WriteProbeCase(w, c));

        Assert.Equal(
            ["op", "layout", "layoutName", "guard", "shortSide", "before", "after", "misalignment", "ret", "errno", "runsAgree",
             "deficit", "expectedRet", "firstModified", "lastModified", "modifiedCount", "modifiedBeyondRet", "modifiedBeyondRanges",
             "overReported", "modifiedBeforeBuffer", "sourceChanged", "class"],
            Names(json));
        Assert.Equal("readv", json.GetProperty("op").GetString());
        Assert.Equal("prot-none", json.GetProperty("guard").GetString());
        Assert.Equal("SHORT_DIRTY", json.GetProperty("class").GetString());
        Assert.Equal(8, json.GetProperty("modifiedBeyondRanges")[0].GetProperty("offset").GetInt32());
    }

    [Fact]
    public void ProbeSummary_ListsEveryClassAndTheHost()
    {
        var json = Parse(w => JsonOutput.WriteProbeSummary(w, Summary((CaseClass.Exact, 100), (CaseClass.ShortClean, 5))));

        Assert.Equal(["summary", "host", "total", "elapsedSeconds", "targetPid", "mismatch"], Names(json));
        Assert.Equal(["EXACT", "SHORT_CLEAN", "SHORT_DIRTY", "OVER_REPORT", "EFAULT_CLEAN", "EFAULT_DIRTY"], Names(json.GetProperty("summary")));
        Assert.Equal(100, json.GetProperty("summary").GetProperty("EXACT").GetInt32());
        Assert.Equal(0, json.GetProperty("summary").GetProperty("SHORT_DIRTY").GetInt32());
        Assert.Equal(105, json.GetProperty("total").GetInt32());
        Assert.Equal(1.5, json.GetProperty("elapsedSeconds").GetDouble());
        Assert.False(json.GetProperty("mismatch").GetBoolean());
        var host = json.GetProperty("host");
        Assert.Equal("aarch64", host.GetProperty("arch").GetString());
        Assert.Equal("5.10.0-28-arm64", host.GetProperty("kernelRelease").GetString());
        Assert.Equal("0xefffffffffffffff", host.GetProperty("hwcap").GetString());
    }

    [Theory]
    [InlineData(CaseClass.ShortClean, false)]
    [InlineData(CaseClass.EfaultClean, false)]
    [InlineData(CaseClass.ShortDirty, true)]
    [InlineData(CaseClass.OverReport, true)]
    [InlineData(CaseClass.EfaultDirty, true)]
    public void ProbeSummary_Mismatch_OnlyForClassesWhereCountAndBytesDisagree(CaseClass cls, bool mismatch)
    {
        var json = Parse(w => JsonOutput.WriteProbeSummary(w, Summary((CaseClass.Exact, 10), (cls, 1))));

        Assert.Equal(mismatch, json.GetProperty("mismatch").GetBoolean());
    }

    [Fact]
    public void Platform_Absent_IsNull()
    {
        var json = Parse(w => JsonOutput.WriteProbeSummary(w, new ProbeSummary()));

        Assert.Equal(JsonValueKind.Null, json.GetProperty("host").ValueKind);
    }

    [Fact]
    public void Range_SegmentsMergeAdjacentChunksAndHolesAreListed()
    {
        var result = new RangeResult
        {
            RangeIndex = 0, Address = 0x1000, Length = 0x2004, BytesRead = 4, SyscallReturned = 4, UnreadableBytes = 0x2000,
            StopAddress = 0x1004, StopReason = StopReason.Unmapped,
        };
        result.Holes.Add(new Hole { Address = 0x1004, Length = 0x2000, Reason = StopReason.Unmapped });
        Chunk[] chunks =
        [
            new() { Address = 0x1000, Data = ByteString.CopyFrom(1, 2) },
            new() { Address = 0x1002, Data = ByteString.CopyFrom(3, 4) },
        ];

        var json = Parse(w => JsonOutput.WriteRange(w, new RangeReadResult(result, chunks)));

        Assert.Equal(
            ["index", "address", "length", "bytesRead", "syscallReturned", "unreadableBytes", "stopAddress", "stopReason", "holes", "segments", "check"],
            Names(json));
        Assert.Equal("0x1000", json.GetProperty("address").GetString());
        Assert.Equal("0x1004", json.GetProperty("stopAddress").GetString());
        Assert.Equal("unmapped", json.GetProperty("stopReason").GetString());
        var segment = Assert.Single(json.GetProperty("segments").EnumerateArray());
        Assert.Equal(4, segment.GetProperty("length").GetInt32());
        Assert.Equal([1, 2, 3, 4], segment.GetProperty("data").GetBytesFromBase64());
        var hole = Assert.Single(json.GetProperty("holes").EnumerateArray());
        Assert.Equal("0x1004", hole.GetProperty("address").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("check").ValueKind);
    }

    [Fact]
    public void Range_Base64AcrossChunksOfAnyLength_DecodesToTheBytes()
    {
        var result = new RangeResult { Address = 0x1000, Length = 7, BytesRead = 7 };
        Chunk[] chunks =
        [
            new() { Address = 0x1000, Data = ByteString.CopyFrom(1) },
            new() { Address = 0x1001, Data = ByteString.CopyFrom(2, 3, 4, 5) },
            new() { Address = 0x1005, Data = ByteString.CopyFrom(6, 7) },
        ];

        var json = Parse(w => JsonOutput.WriteRange(w, new RangeReadResult(result, chunks)));

        Assert.Equal([1, 2, 3, 4, 5, 6, 7], json.GetProperty("segments")[0].GetProperty("data").GetBytesFromBase64());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("stopAddress").ValueKind);
    }

    [Fact]
    public void Write_WithCheck_HasTheDocumentedFields()
    {
        var response = new WriteRemoteResponse
        {
            SyscallReturned = 2,
            Check = new WriteCheck { BytesChanged = 2, FirstChangedOffset = 0, FirstDifferingOffset = -1 },
        };

        var json = Parse(w => JsonOutput.WriteWrite(w, 0x1000, 2, force: false, response));

        Assert.Equal(["address", "length", "force", "syscallReturned", "stopAddress", "stopReason", "check"], Names(json));
        Assert.Equal(
            ["bytesChanged", "firstChangedOffset", "firstDifferingOffset", "changedBeyondReturned", "changedBeyondReturnedCount", "unwrittenBelowReturned", "mismatch"],
            Names(json.GetProperty("check")));
        Assert.Equal(-1, json.GetProperty("check").GetProperty("firstDifferingOffset").GetInt32());
    }

    [Fact]
    public void Strings_AreNotHtmlEscaped()
    {
        var json = JsonOutput.ToLine(w => JsonOutput.WriteProcess(w, new ProcessInfo { Cmdline = "sh -c 'a<b && c+d'" }));

        Assert.Contains("sh -c 'a<b && c+d'", json, StringComparison.Ordinal);
    }
}
