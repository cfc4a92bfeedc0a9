using System.Globalization;
using System.Text;
using System.Text.Json;
using Pvmd.TestTarget;
using Exit = Pvmd.Cli.ExitCode;
using Pvmd.Tests.Infrastructure;

namespace Pvmd.Tests.Integration;

/// <summary>The real pvmctl against the real daemon and a real target: what a person or a
/// script sees (stdout, one-line stderr, exit codes).</summary>
[Collection(DaemonCollection.Name)]
public sealed class CliTests : IClassFixture<TargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;
    private readonly ulong _page;

    public CliTests(DaemonFixture daemon, TargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
        _page = (ulong)_target.PageSize;
    }

    [Fact]
    public async Task Read_Hex_IsAnXxdStyleDumpOfThePattern()
    {
        var address = _target.Pattern.Start + 3;
        var bytes = TestPattern.Bytes(TestPattern.PatternSeed, 3, 100);

        var result = await RunAsync("read", "--pid", Pid, "--address", Hex(address), "--length", "100", "--format", "hex");

        AssertExit(Exit.Ok, result);
        Assert.Equal(XxdLines(address, bytes), result.OutputLines);
    }

    [Fact]
    public async Task Read_Hex_AcrossTheHole_ShowsTheHoleAsOneLineBetweenTheData()
    {
        var holeStart = _target.Hole.Start + _page;
        var address = holeStart - 32;

        var result = await RunAsync("read", "--pid", Pid, "--address", Hex(address), "--length", (_page + 64).ToString(CultureInfo.InvariantCulture));

        AssertExit(Exit.Ok, result);
        string[] expected =
        [
            .. XxdLines(address, TestPattern.Bytes(TestPattern.HoleSeed, _page - 32, 32)),
            $"--- 0x{holeStart:x16} {_page} bytes unreadable (unmapped) ---",
            .. XxdLines(holeStart + _page, TestPattern.Bytes(TestPattern.HoleSeed, 2 * _page, 32)),
        ];
        Assert.Equal(expected, result.OutputLines);
    }

    [Fact]
    public async Task Read_Raw_WritesExactlyTheBytes()
    {
        var result = await RunAsync("read", "--pid", Pid, "--address", Hex(_target.Pattern.Start), "--length", _target.Pattern.Length.ToString(CultureInfo.InvariantCulture), "--format", "raw");

        AssertExit(Exit.Ok, result);
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, 0, (int)_target.Pattern.Length), result.StandardOutputBytes);
    }

    [Fact]
    public async Task Read_Raw_OverGrpcAndOverTheLocalPath_WritesTheSameBytes()
    {
        string[] read = ["read", "--pid", Pid, "--address", Hex(_target.Hole.Start), "--length", _target.Hole.Length.ToString(CultureInfo.InvariantCulture), "--format", "raw"];

        var local = await RunAsync(read);
        var grpc = await RunAsync([.. read, "--no-local-path"]);

        AssertExit(Exit.Incomplete, local);
        AssertExit(Exit.Incomplete, grpc);
        Assert.Equal(grpc.StandardOutputBytes, local.StandardOutputBytes);
        Assert.Equal(grpc.StandardError, local.StandardError);
    }

    [Fact]
    public async Task Read_Raw_WithAHole_ExitsIncomplete()
    {
        var result = await RunAsync("read", "--pid", Pid, "--address", Hex(_target.Hole.Start), "--length", _target.Hole.Length.ToString(CultureInfo.InvariantCulture), "--format", "raw");

        AssertExit(Exit.Incomplete, result);
        Assert.Equal(2 * (int)_page, result.StandardOutputBytes.Length);
    }

    [Fact]
    public async Task Read_Json_ReportsRangesHolesAndData()
    {
        var guard = _target.ProtNone.Start + _page;

        var result = await RunAsync("read", "--pid", Pid, "--range", $"{Hex(guard - 16)}:32", "--range", $"{Hex(_target.Pattern.Start)}:8", "--format", "json", "--verify");

        AssertExit(Exit.Ok, result);
        using var json = JsonDocument.Parse(result.StandardOutput);
        var ranges = json.RootElement.GetProperty("ranges");
        Assert.Equal(2, ranges.GetArrayLength());
        var first = ranges[0];
        Assert.Equal(16UL, first.GetProperty("bytesRead").GetUInt64());
        Assert.Equal(Hex(guard), first.GetProperty("stopAddress").GetString());
        Assert.Equal("protection", first.GetProperty("stopReason").GetString());
        var segment = Assert.Single(first.GetProperty("segments").EnumerateArray());
        Assert.Equal(TestPattern.Bytes(TestPattern.ProtNoneSeed, _page - 16, 16), segment.GetProperty("data").GetBytesFromBase64());
        Assert.False(first.GetProperty("check").GetProperty("mismatch").GetBoolean());
        var second = ranges[1];
        Assert.Equal(8UL, second.GetProperty("bytesRead").GetUInt64());
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, 0, 8), Assert.Single(second.GetProperty("segments").EnumerateArray()).GetProperty("data").GetBytesFromBase64());
        Assert.False(json.RootElement.GetProperty("complete").GetBoolean());
        Assert.False(json.RootElement.GetProperty("mismatch").GetBoolean());
    }

    [Fact]
    public async Task Write_Verify_WritesTheBytesAndReportsTheCheck()
    {
        var address = _target.Scratch.Start + 0x300;

        var result = await RunAsync("write", "--pid", Pid, "--address", Hex(address), "--hex", "de ad be ef 01 02 03 04", "--verify", "--json");

        AssertExit(Exit.Ok, result);
        using var json = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal(8UL, json.RootElement.GetProperty("syscallReturned").GetUInt64());
        var check = json.RootElement.GetProperty("check");
        Assert.Equal(8UL, check.GetProperty("bytesChanged").GetUInt64());
        Assert.Equal(-1, check.GetProperty("firstDifferingOffset").GetInt64());
        Assert.False(check.GetProperty("mismatch").GetBoolean());
        Assert.Equal(Convert.FromHexString("deadbeef01020304"), _target.Dump(address, 8));
    }

    [Fact]
    public async Task Write_Text_SaysHowManyBytesWereWritten()
    {
        var address = _target.Scratch.Start + 0x340;

        var result = await RunAsync("write", "--pid", Pid, "--address", Hex(address), "--hex", "0a0b0c", "--verify");

        AssertExit(Exit.Ok, result);
        Assert.StartsWith($"wrote 3 of 3 bytes at {Hex(address)}", result.OutputLines[0], StringComparison.Ordinal);
        Assert.Equal([0x0a, 0x0b, 0x0c], _target.Dump(address, 3));
    }

    [Fact]
    public async Task Write_ReadOnlyPage_WithoutForceIsIncomplete_WithForceWrites()
    {
        var address = _target.ReadOnly.Start + 0x800;
        var original = _target.Dump(address, 2);
        var data = original.Select(b => (byte)~b).ToArray();
        var hex = Convert.ToHexStringLower(data);

        var refused = await RunAsync("write", "--pid", Pid, "--address", Hex(address), "--hex", hex);
        var unchanged = _target.Dump(address, 2);
        var forced = await RunAsync("write", "--pid", Pid, "--address", Hex(address), "--hex", hex, "--force");

        AssertExit(Exit.Incomplete, refused);
        Assert.Contains("protection", refused.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(original, unchanged);
        AssertExit(Exit.Ok, forced);
        Assert.Equal(data, _target.Dump(address, 2));
    }

    [Fact]
    public async Task Maps_ListsTheTargetsRegionsWithTheirPermissions()
    {
        var text = await RunAsync("maps", "--pid", Pid);
        var json = await RunAsync("maps", "--pid", Pid, "--json");

        AssertExit(Exit.Ok, text);
        Assert.Contains(text.OutputLines, l => l.StartsWith($"{_target.ReadOnly.Start:x12}-{_target.ReadOnly.End:x12}", StringComparison.Ordinal) && l.Contains(" r-xp ", StringComparison.Ordinal));
        Assert.Contains(text.OutputLines, l => l.StartsWith($"{_target.ProtNone.Start + _page:x12}-{_target.ProtNone.End:x12}", StringComparison.Ordinal) && l.Contains(" ---p ", StringComparison.Ordinal));
        AssertExit(Exit.Ok, json);
        using var document = JsonDocument.Parse(json.StandardOutput);
        var regions = document.RootElement.GetProperty("regions").EnumerateArray().ToList();
        Assert.Contains(regions, r => r.GetProperty("start").GetString() == Hex(_target.ProtNone.Start + _page) && r.GetProperty("permissions").GetString() == "---p");
        Assert.Contains(regions, r => r.GetProperty("start").GetString() == Hex(_target.ReadOnly.Start) && r.GetProperty("permissions").GetString() == "r-xp" && r.GetProperty("size").GetUInt64() == _page);
    }

    [Fact]
    public async Task Ps_ByName_ShowsTheTargetWithItsStartTime()
    {
        var text = await RunAsync("ps", "--name", "pvmd-test-targ*");
        var json = await RunAsync("ps", "--name", "pvmd-test-targ*", "--json");

        AssertExit(Exit.Ok, text);
        var row = Assert.Single(text.OutputLines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() == Pid);
        Assert.Contains(_target.StartTime.ToString(CultureInfo.InvariantCulture), row.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        AssertExit(Exit.Ok, json);
        using var document = JsonDocument.Parse(json.StandardOutput);
        var process = Assert.Single(document.RootElement.GetProperty("processes").EnumerateArray(), p => p.GetProperty("pid").GetInt32() == _target.Pid);
        Assert.Equal(_target.StartTime, process.GetProperty("startTime").GetUInt64());
        Assert.Equal("pvmd-test-targe", process.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Platform_Json_DescribesThisHost()
    {
        var result = await RunAsync("platform", "--json");

        AssertExit(Exit.Ok, result);
        using var document = JsonDocument.Parse(result.StandardOutput);
        var platform = document.RootElement;
        var platformFromDaemon = await _daemon.Client.GetPlatformAsync(new V1.GetPlatformRequest());
        Assert.Equal(platformFromDaemon.Arch, platform.GetProperty("arch").GetString());
        Assert.Equal(Environment.SystemPageSize, platform.GetProperty("pageSize").GetInt32());
        Assert.Equal(platformFromDaemon.KernelRelease, platform.GetProperty("kernelRelease").GetString());
        Assert.Equal(platformFromDaemon.HasCapSysPtrace, platform.GetProperty("hasCapSysPtrace").GetBoolean());
        Assert.Equal($"0x{platformFromDaemon.Hwcap:x}", platform.GetProperty("hwcap").GetString());
    }

    [Fact]
    public async Task NonexistentPid_ExitsNotFound_WithOneLineOnStderr()
    {
        var pid = Pids.Free().ToString(CultureInfo.InvariantCulture);

        var read = await RunAsync("read", "--pid", pid, "--address", "0x1000", "--length", "16");
        var maps = await RunAsync("maps", "--pid", pid);

        foreach (var result in new[] { read, maps })
        {
            AssertExit(Exit.NotFound, result);
            AssertOneLineError(result);
            Assert.Empty(result.StandardOutputBytes);
        }
    }

    [Fact]
    public async Task WrongStartTime_ExitsTargetChanged()
    {
        var stale = (_target.StartTime + 1).ToString(CultureInfo.InvariantCulture);

        var result = await RunAsync("read", "--pid", Pid, "--start-time", stale, "--address", Hex(_target.Pattern.Start), "--length", "16");

        AssertExit(Exit.TargetChanged, result);
        AssertOneLineError(result);
    }

    [Fact]
    public async Task MalformedCommandLine_ExitsUsage()
    {
        var result = await RunAsync("read", "--pid", "0", "--address", "0x1000", "--length", "16");

        AssertExit(Exit.Usage, result);
        AssertOneLineError(result);
    }

    [Fact]
    public async Task NoDaemonOnTheSocket_ExitsUnavailable()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"pvmd-absent-{Guid.NewGuid():N}.sock");

        var result = await CliRunner.RunAsync(socket, "platform");

        AssertExit(Exit.Unavailable, result);
        AssertOneLineError(result);
    }

    private string Pid => _target.Pid.ToString(CultureInfo.InvariantCulture);

    private Task<CliResult> RunAsync(params string[] arguments) => CliRunner.RunAsync(_daemon.SocketPath, arguments);

    private static string Hex(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);

    private static void AssertExit(Exit expected, CliResult result) =>
        Assert.True((int)expected == result.ExitCode, $"expected exit code {(int)expected} ({expected}), got {result}");

    private static void AssertOneLineError(CliResult result)
    {
        var lines = result.StandardError.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, $"stderr is not one line: {result}");
        Assert.StartsWith("pvmctl: ", lines[0], StringComparison.Ordinal);
    }

    /// <summary>The dump `xxd -g 2 -c 16` prints, with the 16-digit address in the first
    /// column and lines starting at the first byte, whatever its alignment.</summary>
    private static string[] XxdLines(ulong address, byte[] bytes) =>
        [.. bytes.Chunk(16).Select((line, i) =>
        {
            var hex = new StringBuilder();
            for (var j = 0; j < line.Length; j++)
            {
                hex.Append(j > 0 && j % 2 == 0 ? " " : "").Append(line[j].ToString("x2", CultureInfo.InvariantCulture));
            }
            var ascii = new string([.. line.Select(b => b is >= 0x20 and < 0x7f ? (char)b : '.')]);
            return $"{address + (ulong)(i * 16):x16}: {hex,-39}  {ascii}";
        })];
}
