using Grpc.Core;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Security;

/// <summary>What the daemon refuses at start (one line, exit code 2), and what it keeps of
/// its privileges once running.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("pvmd-startup-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Policy(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("rules:\n  - name: a\n    callers: [any\n", 4, "not valid YAML or JSON")]
    [InlineData("rules:\n  - name: a\n    callers: [any]\n    targets: [any]\n    operation: [read]\n", 5, "unknown key 'operation'")]
    [InlineData("rules:\n  - name: a\n    callers: [any]\n    targets: [any]\n    operations: [read, peek]\n", 5, "unknown operation 'peek'")]
    [InlineData("rules:\n  - callers: [{ uid: root }]\n    targets: [any]\n    operations: [read]\n", 2, "uid must be a non-negative integer")]
    [InlineData("rules:\n  - callers: [any]\n    targets: [{ container: abc }]\n    operations: [read]\n", 3, "container must be")]
    [InlineData("rules:\n  - callers: [any]\n    targets: [{}]\n    operations: [read]\n", 3, "an empty target would match every process")]
    [InlineData("rules:\n  - name: x\n    callers: [any]\n    operations: [read]\n  - name: x\n    callers: [any]\n    operations: [read]\n", 5, "two rules are named 'x'")]
    [InlineData("rules:\n  - name: x\n    effect: maybe\n    callers: [any]\n    operations: [read]\n", 3, "effect must be allow or deny")]
    [InlineData("version: 2\nrules: []\n", 1, "version must be 1")]
    public async Task InvalidPolicy_RefusesToStart_WithFileAndLine(string text, int line, string why)
    {
        var path = Policy("policy.yaml", text);

        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--policy", path]);

        Assert.Equal(2, exitCode);
        var first = stderr.Split('\n')[0];
        Assert.Contains($"{path}:{line}:", first);
        Assert.Contains(why, first);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    [InlineData("rules: []\n")]
    [InlineData("rules:\n")]
    public async Task EmptyPolicy_RefusesToStart_UnlessAllowed(string text)
    {
        var path = Policy("empty.yaml", text);

        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--policy", path]);

        Assert.Equal(2, exitCode);
        Assert.Contains("no rules", stderr);
        Assert.Contains("--allow-empty-policy", stderr);
    }

    [Fact]
    public async Task EmptyPolicy_WithAllowEmptyPolicy_StartsAndDeniesEverything()
    {
        var path = Policy("empty.yaml", "rules: []\n");
        await using var daemon = await DaemonFixture.StartAsync(["--policy", path, "--allow-empty-policy"]);

        var error = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync);

        var info = Expect.Error(error, StatusCode.PermissionDenied, "POLICY_DENIED");
        Assert.Equal("no-rule", info.Metadata["rule"]);
    }

    [Fact]
    public async Task MissingPolicyFile_RefusesToStart()
    {
        var path = Path.Combine(_directory.FullName, "absent.yaml");

        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--policy", path]);

        Assert.Equal(2, exitCode);
        Assert.Contains(path, stderr);
    }

    [Fact]
    public async Task JsonPolicyWithTabs_IsAccepted()
    {
        var path = Policy("policy.json", "{\n\t\"rules\": [\n\t\t{ \"name\": \"root\", \"callers\": [ { \"uid\": 0 } ], \"targets\": [ \"any\" ], \"operations\": [ \"platform\" ] }\n\t]\n}\n");
        await using var daemon = await DaemonFixture.StartAsync(["--policy", path]);

        var platform = await daemon.Client.GetPlatformAsync(new GetPlatformRequest());

        Assert.NotEmpty(platform.Arch);
        Assert.Contains("Policy: 1 rules from " + path, await daemon.LogWithAsync("Policy: 1 rules from"));
    }

    [Theory]
    [InlineData(new[] { "--listen", "127.0.0.1:7411" }, "needs TLS")]
    [InlineData(new[] { "--listen", "0.0.0.0:7411", "--insecure" }, "only allowed with a loopback")]
    [InlineData(new[] { "--insecure" }, "without --listen")]
    [InlineData(new[] { "--listen", "127.0.0.1:7411", "--tls-cert", "/nonexistent.pem" }, "needs all of --tls-cert, --tls-key and --tls-client-ca")]
    [InlineData(new[] { "--max-concurrent", "0" }, "--max-concurrent must be at least 1")]
    [InlineData(new[] { "--max-concurrent", "4", "--max-concurrent-per-caller", "5" }, "--max-concurrent-per-caller must be between")]
    [InlineData(new[] { "--audit-log", "relative.jsonl" }, "--audit-log must be an absolute path")]
    public async Task InsecureOrInconsistentTransport_RefusesToStart(string[] arguments, string why)
    {
        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(arguments);

        Assert.Equal(2, exitCode);
        Assert.Contains(why, stderr);
    }

    [Fact]
    public async Task TlsFilesThatCannotBeLoaded_RefuseToStart()
    {
        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--listen", "127.0.0.1:7411", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", "--tls-client-ca", "/nonexistent-ca.pem"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot load --tls-cert", stderr);
    }

    [Fact]
    public async Task RunningDaemon_HoldsOnlyCapSysPtrace_InEveryThread()
    {
        await using var daemon = await DaemonFixture.StartAsync([]);
        const ulong SysPtrace = 1UL << 19;

        foreach (var task in Directory.EnumerateDirectories($"/proc/{daemon.Pid}/task"))
        {
            var sets = Pvmd.Core.Host.Capabilities.Read(Path.Combine(task, "status"));
            Assert.Equal(SysPtrace, sets.Effective);
            Assert.Equal(SysPtrace, sets.Permitted);
            Assert.Equal(SysPtrace, sets.Bounding);
            Assert.Equal(0UL, sets.Inheritable & ~SysPtrace);
        }
        Assert.Contains("NoNewPrivs:\t1", File.ReadAllText($"/proc/{daemon.Pid}/status"));
        var log = await daemon.LogWithAsync("listening on");
        Assert.Contains("capabilities sys_ptrace (bounding sys_ptrace, no_new_privs, not dumpable)", log);
        Assert.Matches("(Yama absent|Yama ptrace_scope [0-3])", log);
        // Reading and writing other processes still works with what is left.
        var processes = await daemon.Client.ListProcessesAsync(new ListProcessesRequest());
        Assert.Contains(processes.Processes, p => p.Pid == 1);
    }
}
