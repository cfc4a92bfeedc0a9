using Google.Protobuf;
using Grpc.Core;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using static Pvmd.Tests.Security.PolicyFixture;

namespace Pvmd.Tests.Security;

/// <summary>
/// Each kind of rule allows what it names and nothing else, over the Unix socket with a root
/// caller (uid 0, gid 0; non-root callers are in <see cref="NonRootCallerTests"/>, TLS
/// callers in <see cref="TlsTests"/>). Every test installs its policy with SIGHUP on the same
/// daemon and the same connection.
/// </summary>
public sealed class PolicyTests(PolicyFixture fixture) : IClassFixture<PolicyFixture>
{
    private RemoteMemory.RemoteMemoryClient Client => fixture.Client;

    [Fact]
    public async Task CallerUid_MatchesTheSocketPeersUid()
    {
        await fixture.ReloadAsync(Rules("root-reads", "{ uid: 0 }", "any", "read"));
        await fixture.ReadAsync(fixture.RootTarget);

        await fixture.ReloadAsync(Rules("someone-else", "{ uid: 4242 }", "any", "read"));
        var info = await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
        Assert.Equal("0", info.Metadata["rule_index"]);
        Assert.Contains("uid 0 gid 0", info.Metadata["detail"]);
    }

    [Fact]
    public async Task CallerGid_MatchesTheSocketPeersGid()
    {
        await fixture.ReloadAsync(Rules("wheel", "{ gid: 0 }", "any", "read"));
        await fixture.ReadAsync(fixture.RootTarget);

        await fixture.ReloadAsync(Rules("staff", "{ gid: 50 }", "any", "read"));
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task CallerTransport_UnixIsNotTls()
    {
        await fixture.ReloadAsync(Rules("local", "{ transport: unix }", "any", "read"));
        await fixture.ReadAsync(fixture.RootTarget);

        await fixture.ReloadAsync(Rules("remote", "{ transport: tls }", "any", "read"));
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task CallerSubject_NeverMatchesASocketCaller()
    {
        await fixture.ReloadAsync(Rules("cert", "{ subject: \"*\" }", "any", "read"));

        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task CallerAny_MatchesEveryone()
    {
        await fixture.ReloadAsync(Rules("everyone", "any", "any", "read"));

        await fixture.ReadAsync(fixture.RootTarget);
    }

    [Fact]
    public async Task TargetPid_MatchesThatProcessOnly()
    {
        await fixture.ReloadAsync(Rules("one", "any", $"{{ pid: {fixture.RootTarget.Pid} }}", "read"));

        await fixture.ReadAsync(fixture.RootTarget);
        await DeniedAsync(() => fixture.ReadAsync(fixture.NobodyTarget), "no-rule", "read");
    }

    [Fact]
    public async Task TargetUid_NeedsEveryUidOfTheTarget()
    {
        await fixture.ReloadAsync(Rules("nobody", "any", $"{{ uid: {Nobody} }}", "read"));

        await fixture.ReadAsync(fixture.NobodyTarget);
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
        // Real uid 65534, effective uid 0: a setuid-root program run by nobody is not nobody's.
        await DeniedAsync(() => fixture.ReadAsync(fixture.MixedTarget), "no-rule", "read");
    }

    [Fact]
    public async Task TargetExe_IsAGlobOnTheExecutable()
    {
        await fixture.ReloadAsync(Rules("tests", "any", "{ exe: \"*/pvmd-test-target\" }", "read"));
        await fixture.ReadAsync(fixture.RootTarget);

        await fixture.ReloadAsync(Rules("system", "any", "{ exe: \"/usr/bin/*\" }", "read"));
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task TargetComm_IsAGlobOnTheCommandName()
    {
        await fixture.ReloadAsync(Rules("tests", "any", "{ comm: \"pvmd-test-*\" }", "read"));
        await fixture.ReadAsync(fixture.RootTarget);

        await fixture.ReloadAsync(Rules("sshd", "any", "{ comm: sshd }", "read"));
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task TargetCgroup_IsAGlobOnTheCgroupPath()
    {
        await fixture.ReloadAsync(Rules("scope", "any", "{ cgroup: \"/pvmd-tests-*\" }", "read"));

        await fixture.ReadAsync(fixture.ContainerTarget);
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task TargetContainer_MatchesTheIdInTheCgroup()
    {
        await fixture.ReloadAsync(Rules("this-one", "any", $"{{ container: \"{fixture.ContainerId[..12]}\" }}", "read"));
        await fixture.ReadAsync(fixture.ContainerTarget);
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");

        await fixture.ReloadAsync(Rules("any-container", "any", "{ container: \"*\" }", "read"));
        await fixture.ReadAsync(fixture.ContainerTarget);
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");

        await fixture.ReloadAsync(Rules("another", "any", "{ container: \"0123456789ab\" }", "read"));
        await DeniedAsync(() => fixture.ReadAsync(fixture.ContainerTarget), "no-rule", "read");
    }

    [Fact]
    public async Task Operations_GrantOnlyWhatTheyName()
    {
        await fixture.ReloadAsync(Rules("read-only", "any", "any", "read, write"));
        var target = fixture.RootTarget;

        await fixture.ReadAsync(target);
        await Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.Scratch.Start, Data = ByteString.CopyFromUtf8("x") });
        await DeniedAsync(() => Client.ListRegionsAsync(new ListRegionsRequest { Target = target.Target }).ResponseAsync, "no-rule", "regions");
        await DeniedAsync(() => Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.Scratch.Start, Data = ByteString.CopyFromUtf8("x"), Force = true }).ResponseAsync, "no-rule", "force-write");
        await DeniedAsync(() => Client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync, "no-rule", "platform");
        await DeniedAsync(() => Client.ListProcessesAsync(new ListProcessesRequest()).ResponseAsync, "no-rule", "processes");
    }

    [Fact]
    public async Task Platform_NeedsNoTargets()
    {
        await fixture.ReloadAsync(Rules("platform", "any", "", "platform, read"));

        await Client.GetPlatformAsync(new GetPlatformRequest());
        // No targets: the rule reaches no process.
        await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-rule", "read");
    }

    [Fact]
    public async Task DenyRule_FirstMatchingRuleDecides()
    {
        await fixture.ReloadAsync(Rules("!no-tests", "any", "{ comm: \"pvmd-test-*\" }", "read", "everything", "any", "any", "all"));
        var info = await DeniedAsync(() => fixture.ReadAsync(fixture.RootTarget), "no-tests", "read");
        Assert.Equal("1", info.Metadata["rule_index"]);
        Assert.Contains($"{fixture.PolicyPath} line 2", info.Metadata["detail"]);

        await fixture.ReloadAsync(Rules("everything", "any", "any", "all", "!no-tests", "any", "{ comm: \"pvmd-test-*\" }", "read"));
        await fixture.ReadAsync(fixture.RootTarget);
    }

    [Fact]
    public async Task Daemon_IsProtectedUnlessARuleNamesIt()
    {
        var daemon = new Target { Pid = fixture.Daemon.Pid };
        await fixture.ReloadAsync(Rules("everything", "any", "any", "all"));
        var info = await DeniedAsync(() => Client.ListRegionsAsync(new ListRegionsRequest { Target = daemon }).ResponseAsync, "protected-target", "regions");
        Assert.Contains("daemon: true", info.Metadata["detail"]);
        // Listing it is not protected: /proc shows as much.
        var listed = await Client.ListProcessesAsync(new ListProcessesRequest());
        Assert.Contains(listed.Processes, p => p.Pid == fixture.Daemon.Pid);

        await fixture.ReloadAsync(Rules("self", "{ uid: 0 }", "{ daemon: true }", "regions"));
        var regions = await Client.ListRegionsAsync(new ListRegionsRequest { Target = daemon });
        Assert.NotEmpty(regions.Regions);
    }

    [Fact]
    public async Task Pid1_IsNotWritableUnlessARuleNamesIt()
    {
        // Address 0 is never mapped: the allowed write changes nothing.
        var write = new WriteRemoteRequest { Target = new Target { Pid = 1 }, Address = 0, Data = ByteString.CopyFromUtf8("x") };
        await fixture.ReloadAsync(Rules("everything", "any", "any", "all"));
        await DeniedAsync(() => Client.WriteRemoteAsync(write).ResponseAsync, "protected-target", "write");

        await fixture.ReloadAsync(Rules("init", "{ uid: 0 }", "{ pid: 1 }", "write"));
        try
        {
            var response = await Client.WriteRemoteAsync(write);
            Assert.Equal(0UL, response.SyscallReturned);
            Assert.Equal(V1.StopReason.Unmapped, response.StopReason);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.PermissionDenied)
        {
            // Past the policy, the kernel may still refuse (pid 1 of another namespace, a
            // security module): that is not the policy's answer.
            Assert.NotEqual("policy", e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Metadata["cause"]);
        }
    }

    [Fact]
    public async Task ProcessListing_ShowsOnlyTheProcessesTheRulesAllow()
    {
        await fixture.ReloadAsync(Rules("tests", "any", "{ comm: \"pvmd-test-*\" }", "processes"));

        var listed = await Client.ListProcessesAsync(new ListProcessesRequest());

        Assert.NotEmpty(listed.Processes);
        Assert.All(listed.Processes, p => Assert.StartsWith("pvmd-test-", p.Name));
        Assert.Contains(listed.Processes, p => p.Pid == fixture.NobodyTarget.Pid);
    }

    [Fact]
    public async Task InvalidPolicyOnReload_KeepsThePreviousPolicy()
    {
        await fixture.ReloadAsync(Rules("everything", "any", "any", "all"));

        await fixture.ReloadAsync("rules:\n  - name: broken\n    callers: [any]\n    operations: [peek]\n", expectValid: false);

        await fixture.ReadAsync(fixture.RootTarget);
        Assert.Contains($"kept the previous policy (1 rules): {fixture.PolicyPath}:4:", fixture.Daemon.Log);
        // An empty file is refused on reload too: it would deny everything.
        await fixture.ReloadAsync("", expectValid: false);
        await fixture.ReadAsync(fixture.RootTarget);
    }

    [Fact]
    public async Task Reload_KeepsCallsInProgressAndTheConnection()
    {
        await fixture.ReloadAsync(Rules("everything", "any", "any", "all"));
        var target = fixture.RootTarget;
        using var stream = Client.ReadRemote(new ReadRemoteRequest { Target = target.Target, Ranges = { new V1.Range { Address = target.Pattern.Start, Length = target.Pattern.Length } } });
        Assert.True(await stream.ResponseStream.MoveNext());

        await fixture.ReloadAsync(Rules("platform-only", "any", "", "platform"));

        // The call that started under the old policy finishes under it.
        while (await stream.ResponseStream.MoveNext())
        {
        }
        await DeniedAsync(() => fixture.ReadAsync(target), "no-rule", "read");
        await Client.GetPlatformAsync(new GetPlatformRequest());
    }
}
