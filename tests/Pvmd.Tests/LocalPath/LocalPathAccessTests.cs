using System.Text.Json;
using Pvmd.Client;
using Pvmd.Tests.Infrastructure;
using Pvmd.Tests.Security;
using static Pvmd.Tests.Security.PolicyFixture;
using Lib = Pvmd.Client;
using Target = Pvmd.Tests.Infrastructure.TargetProcess;

namespace Pvmd.Tests.LocalPath;

/// <summary>The local path decides like gRPC: the policy allows and denies each read by its
/// rules (a denial names the rule and is audited), and a daemon with the path off is read
/// over gRPC, with the reason at hand.</summary>
public sealed class LocalPathAccessTests(PolicyFixture fixture) : IClassFixture<PolicyFixture>
{
    [Fact]
    public async Task Policy_AllowsAndDeniesEachReadByItsRules_AndAuditsTheDenial()
    {
        await fixture.ReloadAsync(Rules("just-one", "{ uid: 0 }", $"{{ pid: {fixture.RootTarget.Pid} }}", "read"));
        using var client = PvmdClient.ForSocket(fixture.Daemon.SocketPath);

        var allowed = await client.ReadAsync(Pinned(fixture.RootTarget), fixture.RootTarget.Pattern.Start, 64);
        var denied = await Assert.ThrowsAsync<Lib.AccessDeniedException>(() => client.ReadAsync(Pinned(fixture.NobodyTarget), fixture.NobodyTarget.Pattern.Start, 64));

        Assert.True(client.LocalPathUsed, client.LocalPathUnavailableReason);
        Assert.True(allowed.IsComplete);
        Assert.Equal("POLICY_DENIED", denied.Reason);
        Assert.Equal("policy", denied.Cause);
        var log = await fixture.Daemon.LogWithAsync("(local path)");
        Assert.Contains("(local path)", log);
        var record = File.ReadLines(fixture.Daemon.AuditLogPath)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Last(r => r.GetProperty("event").GetString() == "denied");
        Assert.Equal(fixture.NobodyTarget.Pid, record.GetProperty("target").GetProperty("pid").GetInt32());
        Assert.Equal("no-rule", record.GetProperty("result").GetProperty("rule").GetString());
        Assert.Equal("/pvmd.v1.RemoteMemory/ReadRemote (local path)", record.GetProperty("method").GetString());
    }

    [Fact]
    public async Task Policy_WithNoReadRule_TheClientFallsBackToGrpc_WhichDenies()
    {
        await fixture.ReloadAsync(Rules("platform-only", "{ uid: 0 }", "", "platform"));
        using var client = PvmdClient.ForSocket(fixture.Daemon.SocketPath);

        await Assert.ThrowsAsync<Lib.AccessDeniedException>(() => client.ReadAsync(Pinned(fixture.RootTarget), fixture.RootTarget.Pattern.Start, 64));

        Assert.False(client.LocalPathUsed);
    }

    [Fact]
    public async Task DaemonWithThePathOff_IsReadOverGrpc_AndTheClientSaysWhy()
    {
        await using var daemon = await DaemonFixture.StartAsync(["--local-path", "false"]);
        using var target = Target.Start();
        using var client = PvmdClient.ForSocket(daemon.SocketPath);

        var read = await client.ReadAsync(Pinned(target), target.Pattern.Start, 64);

        Assert.True(read.IsComplete);
        Assert.False(client.LocalPathUsed);
        Assert.Contains("local path is off", client.LocalPathUnavailableReason);
        Assert.False(File.Exists(daemon.SocketPath + ".local"));
    }

    [Fact]
    public async Task Sigterm_WithALocalConnectionOpen_ExitsCleanlyAndRemovesBothSockets()
    {
        var daemon = await DaemonFixture.StartAsync([]);
        await using (daemon)
        {
            using var target = Target.Start();
            using var client = PvmdClient.ForSocket(daemon.SocketPath);
            Assert.True((await client.ReadAsync(Pinned(target), target.Pattern.Start, 64)).IsComplete);
            Assert.True(client.LocalPathUsed, client.LocalPathUnavailableReason);

            daemon.Signal(Signal.Terminate);
            var exitCode = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(0, exitCode);
            Assert.False(File.Exists(daemon.SocketPath), "the socket is still there");
            Assert.False(File.Exists(daemon.SocketPath + ".local"), "the local path's socket is still there");
        }
    }

    [Fact]
    public async Task TooLongASocketPathForTheLocalSocket_StopsTheDaemonWithOneLine()
    {
        var socket = "/tmp/" + new string('s', 98);

        var (exitCode, output) = await DaemonFixture.RunToExitAsync(["--socket", socket]);

        Assert.Equal(2, exitCode);
        Assert.Contains("too long for the local path's socket", output);
    }

    private static Lib.TargetProcess Pinned(Target target) => new(target.Pid, target.StartTime);
}
