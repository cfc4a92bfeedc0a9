using System.Security.Cryptography;
using Grpc.Core;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Security;

/// <summary>
/// One daemon started with a policy file, which each test replaces and reloads with SIGHUP
/// (so every test also exercises a reload without dropping the connection), and the targets
/// the rules aim at: one of root, one of uid 65534, one whose real uid is 65534 but effective
/// uid 0 (what a setuid-root program looks like), and one in its own cgroup named like a
/// docker container's scope.
/// </summary>
public sealed class PolicyFixture : IAsyncLifetime
{
    public const uint Nobody = 65534;

    private int _reloads;

    public DaemonFixture Daemon { get; private set; } = null!;

    public string PolicyPath { get; private set; } = "";

    public TargetProcess RootTarget { get; private set; } = null!;

    public TargetProcess NobodyTarget { get; private set; } = null!;

    public TargetProcess MixedTarget { get; private set; } = null!;

    public TargetProcess ContainerTarget { get; private set; } = null!;

    /// <summary>64 hex digits, the container id in <see cref="ContainerTarget"/>'s cgroup.</summary>
    public string ContainerId { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public string CgroupName => $"pvmd-tests-docker-{ContainerId}.scope";

    private string CgroupDirectory => Path.Combine("/sys/fs/cgroup/unified", CgroupName);

    public async Task InitializeAsync()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-policy-");
        PolicyPath = Path.Combine(directory.FullName, "policy.yaml");
        await File.WriteAllTextAsync(PolicyPath, Rules("root", "{ uid: 0 }", "any", "all"));
        Daemon = await DaemonFixture.StartAsync(["--policy", PolicyPath]);
        RootTarget = TargetProcess.Start();
        NobodyTarget = TargetProcess.Start(user: ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups"]);
        MixedTarget = TargetProcess.Start(user: ["--ruid", $"{Nobody}"]);
        ContainerTarget = TargetProcess.Start();
        Directory.CreateDirectory(CgroupDirectory);
        await File.WriteAllTextAsync(Path.Combine(CgroupDirectory, "cgroup.procs"), $"{ContainerTarget.Pid}");
    }

    public async Task DisposeAsync()
    {
        foreach (var target in new[] { RootTarget, NobodyTarget, MixedTarget, ContainerTarget })
        {
            target?.Dispose();
        }
        await Daemon.DisposeAsync();
        for (var i = 0; i < 50 && Directory.Exists(CgroupDirectory); i++)
        {
            try
            {
                Directory.Delete(CgroupDirectory);
            }
            catch (IOException)
            {
                await Task.Delay(100);
            }
        }
        File.Delete(PolicyPath);
    }

    /// <summary>A policy of one rule per (name, caller, target, operations) tuple.</summary>
    public static string Rules(params string[] fields)
    {
        var text = new System.Text.StringBuilder("rules:\n");
        for (var i = 0; i + 3 < fields.Length; i += 4)
        {
            var effect = fields[i].StartsWith('!') ? "deny" : "allow";
            text.Append($"  - name: {fields[i].TrimStart('!')}\n    effect: {effect}\n    callers: [{fields[i + 1]}]\n");
            if (fields[i + 2].Length > 0)
            {
                text.Append($"    targets: [{fields[i + 2]}]\n");
            }
            text.Append($"    operations: [{fields[i + 3]}]\n");
        }
        return text.ToString();
    }

    /// <summary>Writes the policy and sends SIGHUP; returns once the daemon says it reloaded
    /// (or kept the previous policy, which <paramref name="expectValid"/> = false expects).</summary>
    public async Task ReloadAsync(string policy, bool expectValid = true)
    {
        await File.WriteAllTextAsync(PolicyPath, policy);
        var before = Count(expectValid ? "reloaded the policy" : "kept the previous policy");
        Daemon.Signal(Signal.Hangup);
        for (var i = 0; i < 200; i++)
        {
            if (Count(expectValid ? "reloaded the policy" : "kept the previous policy") > before)
            {
                _reloads++;
                return;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"the daemon did not log the reload:\n{Daemon.Log}");
    }

    private int Count(string text) => Daemon.Log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    public RemoteMemory.RemoteMemoryClient Client => Daemon.Client;

    public Task<ReadOutcome> ReadAsync(TargetProcess target) =>
        ReadOutcome.ReadAsync(Client, new ReadRemoteRequest { Target = target.Target, Ranges = { new V1.Range { Address = target.Pattern.Start, Length = 64 } } });

    /// <summary>The call is denied by the policy: the ErrorInfo names the rule.</summary>
    public static async Task<Google.Rpc.ErrorInfo> DeniedAsync(Func<Task> call, string rule, string operation)
    {
        var info = await Expect.ErrorAsync(call, StatusCode.PermissionDenied, "POLICY_DENIED");
        Assert.Equal("policy", info.Metadata["cause"]);
        Assert.Equal(rule, info.Metadata["rule"]);
        Assert.Equal(operation, info.Metadata["operation"]);
        return info;
    }
}
