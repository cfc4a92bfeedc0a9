using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Pvmd.Core.Procfs;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Integration;

/// <summary>ListRegions, ListProcesses and GetPlatform, checked against what the target and
/// the host say themselves.</summary>
[Collection(DaemonCollection.Name)]
public sealed class InspectionTests : IClassFixture<TargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;
    private readonly ulong _page;

    public InspectionTests(DaemonFixture daemon, TargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
        _page = (ulong)_target.PageSize;
    }

    [Fact]
    public async Task ListRegions_ShowsTheTargetsRegionsWithTheirPermissions()
    {
        var response = await _daemon.Client.ListRegionsAsync(new ListRegionsRequest { Target = _target.Target });

        var regions = response.Regions;
        Assert.Equal(regions.OrderBy(r => r.Start), regions);
        Assert.All(regions.Zip(regions.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Start, $"{pair.First} overlaps {pair.Second}"));
        Region At(ulong address) => regions.SingleOrDefault(r => r.Start <= address && address < r.End)
            ?? throw new Xunit.Sdk.XunitException($"no region holds 0x{address:x}");
        AssertRegion(At(_target.Pattern.Start), _target.Pattern.Start, _target.Pattern.End, "rw-p");
        AssertRegion(At(_target.Hole.Start), _target.Hole.Start, _target.Hole.Start + _page, "rw-p");
        Assert.DoesNotContain(regions, r => r.Start <= _target.Hole.Start + _page && _target.Hole.Start + _page < r.End);
        AssertRegion(At(_target.Hole.Start + (2 * _page)), _target.Hole.Start + (2 * _page), _target.Hole.End, "rw-p");
        AssertRegion(At(_target.ProtNone.Start), _target.ProtNone.Start, _target.ProtNone.Start + _page, "rw-p");
        AssertRegion(At(_target.ProtNone.Start + _page), _target.ProtNone.Start + _page, _target.ProtNone.End, "---p");
        AssertRegion(At(_target.ReadOnly.Start), _target.ReadOnly.Start, _target.ReadOnly.End, "r-xp");
        AssertRegion(At(_target.Scratch.Start), _target.Scratch.Start, _target.Scratch.End, "rw-p");
        // File mappings carry their path: the target's own executable is among them.
        Assert.Contains(regions, r => r.Path.EndsWith("/pvmd-test-target", StringComparison.Ordinal) && r.Inode != 0);
    }

    [Fact]
    public async Task ListRegions_MatchesProcMapsLineForLine()
    {
        var expected = ProcMaps.Read(_target.Pid).Regions;

        var response = await _daemon.Client.ListRegionsAsync(new ListRegionsRequest { Target = _target.Target });

        // The runtime may map or unmap between the two reads; the regions of the layout do not move.
        var layout = new[] { _target.Pattern, _target.Hole, _target.ProtNone, _target.ReadOnly, _target.Scratch };
        bool InLayout(ulong start) => layout.Any(r => r.Start <= start && start < r.End);
        Assert.Equal(
            expected.Where(r => InLayout(r.Start)).Select(r => (r.Start, r.End, r.Permissions, r.Offset, r.Device, r.Inode, r.Path)),
            response.Regions.Where(r => InLayout(r.Start)).Select(r => (r.Start, r.End, r.Permissions, r.Offset, r.Device, r.Inode, r.Path)));
    }

    [Fact]
    public async Task ListProcesses_ByName_FindsTheTargetWithItsStartTime()
    {
        // The kernel keeps 15 characters of the command name: "pvmd-test-targe".
        var response = await _daemon.Client.ListProcessesAsync(new ListProcessesRequest { Name = "pvmd-test-targ*" });

        var process = Assert.Single(response.Processes, p => p.Pid == _target.Pid);
        Assert.Equal(_target.StartTime, process.StartTime);
        Assert.Equal(Environment.ProcessId, process.Ppid);
        Assert.Equal("pvmd-test-targe", process.Name);
        Assert.Equal(RepoPaths.TestTarget, process.Executable);
        Assert.Contains("--pattern-pages", process.Cmdline, StringComparison.Ordinal);
        Assert.Equal(ReadUid(_target.Pid), process.Uid);
        Assert.All(response.Processes, p => Assert.StartsWith("pvmd-test-targ", p.Name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListProcesses_ByCommandLine_FindsOnlyTheTaggedTarget()
    {
        var tag = Guid.NewGuid().ToString("N");
        using var tagged = TargetProcess.Start(patternPages: 1, tag: tag);

        var response = await _daemon.Client.ListProcessesAsync(new ListProcessesRequest { CmdlineContains = tag });

        var process = Assert.Single(response.Processes);
        Assert.Equal(tagged.Pid, process.Pid);
        Assert.Equal(tagged.StartTime, process.StartTime);
    }

    [Fact]
    public async Task ListProcesses_ByUid_KeepsOnlyThatUid()
    {
        var uid = ReadUid(_target.Pid);

        var response = await _daemon.Client.ListProcessesAsync(new ListProcessesRequest { Uid = uid });

        Assert.Contains(response.Processes, p => p.Pid == _target.Pid);
        Assert.All(response.Processes, p => Assert.Equal(uid, p.Uid));
    }

    [Fact]
    public async Task ListProcesses_NameMatchingNothing_IsEmpty()
    {
        var response = await _daemon.Client.ListProcessesAsync(new ListProcessesRequest { Name = "no-such-process-" + Guid.NewGuid().ToString("N")[..8] });

        Assert.Empty(response.Processes);
    }

    [Fact]
    public async Task GetPlatform_DescribesThisHost()
    {
        var platform = await _daemon.Client.GetPlatformAsync(new GetPlatformRequest());

        Assert.Equal(await RunAsync("uname", "-m"), platform.Arch);
        Assert.Equal(await RunAsync("uname", "-r"), platform.KernelRelease);
        Assert.Equal((uint)Environment.SystemPageSize, platform.PageSize);
        Assert.Equal(await RunAsync("uname", "-n"), platform.Hostname);
        Assert.Equal(ReadYamaScope(), platform.YamaPtraceScope);
        // The daemon runs with the tests' own credentials.
        Assert.Equal(HasCapSysPtrace(), platform.HasCapSysPtrace);
        if (await RunAsync("id", "-u") == "0")
        {
            Assert.True(platform.HasCapSysPtrace, "root here holds CAP_SYS_PTRACE");
        }
        Assert.False(string.IsNullOrWhiteSpace(platform.CpuModel));
        Assert.Matches(@"^\d+\.\d+\.\d+", platform.DaemonVersion);
        if (platform.Arch == "x86_64")
        {
            Assert.Equal(4096U, platform.PageSize);
            Assert.Contains("sse2", platform.CpuFeatures.Split(' '));
        }
    }

    [Fact]
    public async Task Requests_WithTheWrongStartTime_FailWithPidReused()
    {
        var stale = new V1.Target { Pid = _target.Pid, StartTime = _target.StartTime + 1 };

        await Expect.ErrorAsync(
            () => ReadOutcome.ReadAsync(_daemon.Client, new ReadRemoteRequest { Target = stale, Ranges = { new V1.Range { Address = _target.Pattern.Start, Length = 8 } } }),
            StatusCode.FailedPrecondition,
            "PID_REUSED");
        await Expect.ErrorAsync(
            () => _daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = stale, Address = _target.Scratch.Start, Data = Google.Protobuf.ByteString.CopyFrom(1, 2, 3) }).ResponseAsync,
            StatusCode.FailedPrecondition,
            "PID_REUSED");
        await Expect.ErrorAsync(
            () => _daemon.Client.ListRegionsAsync(new ListRegionsRequest { Target = stale }).ResponseAsync,
            StatusCode.FailedPrecondition,
            "PID_REUSED");
        Assert.Equal(new byte[3], _target.Dump(_target.Scratch.Start, 3));
    }

    private static void AssertRegion(Region region, ulong start, ulong end, string permissions)
    {
        Assert.Equal(start, region.Start);
        Assert.Equal(end, region.End);
        Assert.Equal(permissions, region.Permissions);
    }

    private static uint ReadUid(int pid) =>
        uint.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static int ReadYamaScope() =>
        File.Exists("/proc/sys/kernel/yama/ptrace_scope")
            ? int.Parse(File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim(), CultureInfo.InvariantCulture)
            : -1;

    private static bool HasCapSysPtrace()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return (ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << 19)) != 0;
    }

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
    }
}
