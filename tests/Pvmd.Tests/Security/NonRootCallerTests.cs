using System.Text.Json;
using Pvmd.Tests.Infrastructure;
using static Pvmd.Tests.Security.PolicyFixture;

namespace Pvmd.Tests.Security;

/// <summary>A daemon whose socket anyone may connect to (mode 0666), the default policy, and
/// targets of root, of uid 65534, and of real uid 65534 with effective uid 0.</summary>
public sealed class OpenSocketFixture : IAsyncLifetime
{
    public DirectoryInfo Directory { get; } = System.IO.Directory.CreateTempSubdirectory("pvmd-open-");

    public DaemonFixture Daemon { get; private set; } = null!;

    public string SocketPath => Path.Combine(Directory.FullName, "pvmd.sock");

    public TargetProcess RootTarget { get; private set; } = null!;

    public TargetProcess NobodyTarget { get; private set; } = null!;

    public TargetProcess MixedTarget { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        File.SetUnixFileMode(Directory.FullName, (UnixFileMode)Convert.ToInt32("755", 8));
        Daemon = await DaemonFixture.StartAsync(["--socket", SocketPath, "--socket-mode", "0666"]);
        RootTarget = TargetProcess.Start();
        NobodyTarget = TargetProcess.Start(user: ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups"]);
        MixedTarget = TargetProcess.Start(user: ["--ruid", $"{Nobody}"]);
    }

    public async Task DisposeAsync()
    {
        RootTarget.Dispose();
        NobodyTarget.Dispose();
        MixedTarget.Dispose();
        await Daemon.DisposeAsync();
        Directory.Delete(recursive: true);
    }
}

/// <summary>
/// A non-root caller on the Unix socket: pvmctl run as uid 65534 (setpriv), so the daemon sees
/// uid and gid 65534 in SO_PEERCRED. With the default policy it may read what it could read
/// itself with a debugger, and nothing else; writes need a grant.
/// </summary>
public sealed class NonRootCallerTests(OpenSocketFixture fixture) : IClassFixture<OpenSocketFixture>
{
    private static readonly string[] s_nobody = ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups"];

    private Task<CliResult> AsNobody(params string[] arguments) => CliRunner.RunAsUserAsync(s_nobody, fixture.SocketPath, arguments);

    private static string[] Read(TargetProcess target) =>
        ["read", "--pid", $"{target.Pid}", "--address", $"0x{target.Pattern.Start:x}", "--length", "64", "--format", "json"];

    [Fact]
    public async Task DefaultPolicy_NonRootReadsItsOwnProcess()
    {
        var result = await AsNobody(Read(fixture.NobodyTarget));

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal(64UL, json.RootElement.GetProperty("ranges")[0].GetProperty("bytesRead").GetUInt64());
    }

    [Fact]
    public async Task DefaultPolicy_NonRootCannotReadRootsProcess()
    {
        var result = await AsNobody(Read(fixture.RootTarget));

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("policy", result.StandardError);
        Assert.Contains("\"uid\":65534", File.ReadAllText(fixture.Daemon.AuditLogPath));
    }

    [Fact]
    public async Task DefaultPolicy_NonRootCannotReadASetuidLikeProcessOfItsUid()
    {
        // Real uid 65534, effective uid 0: the kernel would not let uid 65534 attach either.
        var result = await AsNobody(Read(fixture.MixedTarget));

        Assert.True(result.ExitCode == 4, result.ToString());
    }

    [Fact]
    public async Task DefaultPolicy_NonRootCannotWriteEvenItsOwnProcess()
    {
        var result = await AsNobody("write", "--pid", $"{fixture.NobodyTarget.Pid}", "--address", $"0x{fixture.NobodyTarget.Scratch.Start:x}", "--hex", "41");

        Assert.True(result.ExitCode == 4, result.ToString());
    }

    [Fact]
    public async Task DefaultPolicy_NonRootListsOnlyItsOwnProcesses()
    {
        var result = await AsNobody("ps", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StandardOutput);
        var processes = json.RootElement.GetProperty("processes");
        var pids = processes.EnumerateArray().Select(p => p.GetProperty("pid").GetInt32()).ToList();
        Assert.Contains(fixture.NobodyTarget.Pid, pids);
        Assert.DoesNotContain(fixture.RootTarget.Pid, pids);
        Assert.DoesNotContain(fixture.MixedTarget.Pid, pids);
        Assert.DoesNotContain(1, pids);
        Assert.All(processes.EnumerateArray(), p => Assert.Equal(Nobody, p.GetProperty("uid").GetUInt32()));
    }

    [Fact]
    public async Task DefaultPolicy_NonRootSeesThePlatform()
    {
        var result = await AsNobody("platform");

        Assert.True(result.ExitCode == 0, result.ToString());
    }
}

/// <summary>Rules for non-root callers, over the Unix socket: a uid rule grants writes, a gid
/// rule grants reads of another user's process.</summary>
public sealed class NonRootRuleTests
{
    private static readonly string[] s_nobody = ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups"];

    [Fact]
    public async Task UidAndGidRules_GrantWhatTheyName_ToANonRootCaller()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-nonroot-");
        try
        {
            File.SetUnixFileMode(directory.FullName, (UnixFileMode)Convert.ToInt32("755", 8));
            var socket = Path.Combine(directory.FullName, "pvmd.sock");
            var policy = Path.Combine(directory.FullName, "policy.yaml");
            File.WriteAllText(policy, Rules(
                "nobody-writes-own", $"{{ uid: {Nobody} }}", "{ uid: caller }", "read, write",
                "nogroup-reads-tests", $"{{ gid: {Nobody} }}", "{ comm: \"pvmd-test-*\" }", "read"));
            await using var daemon = await DaemonFixture.StartAsync(["--socket", socket, "--socket-mode", "0666", "--policy", policy]);
            using var own = TargetProcess.Start(user: s_nobody);
            using var roots = TargetProcess.Start();

            var write = await CliRunner.RunAsUserAsync(s_nobody, socket, "write", "--pid", $"{own.Pid}", "--address", $"0x{own.Scratch.Start:x}", "--hex", "414243");
            var readRoots = await CliRunner.RunAsUserAsync(s_nobody, socket, "read", "--pid", $"{roots.Pid}", "--address", $"0x{roots.Pattern.Start:x}", "--length", "16");
            var writeRoots = await CliRunner.RunAsUserAsync(s_nobody, socket, "write", "--pid", $"{roots.Pid}", "--address", $"0x{roots.Scratch.Start:x}", "--hex", "41");

            Assert.True(write.ExitCode == 0, write.ToString());
            Assert.Equal("ABC"u8.ToArray(), own.Dump(own.Scratch.Start, 3));
            Assert.True(readRoots.ExitCode == 0, readRoots.ToString());
            Assert.True(writeRoots.ExitCode == 4, writeRoots.ToString());
            var audit = File.ReadAllLines(daemon.AuditLogPath);
            Assert.Contains(audit, l => l.Contains("\"event\":\"write\"") && l.Contains("\"uid\":65534"));
            Assert.Contains(audit, l => l.Contains("\"event\":\"denied\"") && l.Contains("\"uid\":65534") && l.Contains($"\"pid\":{roots.Pid}"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
