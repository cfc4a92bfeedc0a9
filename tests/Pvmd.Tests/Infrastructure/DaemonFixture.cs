using Grpc.Health.V1;
using Grpc.Net.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Infrastructure;

/// <summary>
/// The real daemon, started as a process on a Unix socket in a temporary directory and
/// shared by every test of the <see cref="DaemonCollection"/>. Ready once the standard
/// health service answers SERVING; its stderr is kept for failure messages.
/// </summary>
public sealed class DaemonFixture : IAsyncLifetime, IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private DirectoryInfo? _directory;
    private DaemonProcess? _daemon;

    /// <summary>The shared daemon: its socket and audit log in a temporary directory.</summary>
    public DaemonFixture()
        : this([])
    {
    }

    /// <summary>A daemon with more switches (a policy, TLS, limits); --socket and --audit-log
    /// given here replace the temporary ones.</summary>
    private DaemonFixture(IEnumerable<string> arguments)
    {
        _arguments = [.. arguments];
    }

    /// <summary>Starts a daemon of its own for one test; dispose it with <c>await using</c>.</summary>
    public static async Task<DaemonFixture> StartAsync(IEnumerable<string> arguments)
    {
        var daemon = new DaemonFixture(arguments);
        try
        {
            await daemon.InitializeAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs pvmd with these switches (and a temporary socket and audit log unless
    /// given) until it exits by itself, for what it refuses at start: its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IEnumerable<string> arguments)
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-tests-");
        try
        {
            var all = WithDefaults([.. arguments], directory.FullName, out var socket, out _);
            await using var daemon = DaemonProcess.Start(socket, all);
            var exitCode = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));
            return (exitCode, daemon.Log);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static List<string> WithDefaults(List<string> arguments, string directory, out string socket, out string auditLog)
    {
        string? Given(string name) => arguments.IndexOf(name) is var i and >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
        var all = new List<string>(arguments);
        socket = Given("--socket") ?? Path.Combine(directory, "pvmd.sock");
        auditLog = Given("--audit-log") ?? Path.Combine(directory, "audit.jsonl");
        if (Given("--socket") is null)
        {
            all.AddRange(["--socket", socket]);
        }
        if (Given("--audit-log") is null)
        {
            all.AddRange(["--audit-log", auditLog]);
        }
        return all;
    }

    /// <summary>The daemon's pid (the same after it re-executes itself to drop capabilities).</summary>
    public int Pid => Daemon.Process.Id;

    /// <summary>The audit log the daemon appends to.</summary>
    public string AuditLogPath { get; private set; } = "";

    /// <summary>Sends a signal (<see cref="Infrastructure.Signal"/>) to the daemon.</summary>
    public void Signal(int signal)
    {
        using var kill = System.Diagnostics.Process.Start("/bin/kill", ["-s", $"{signal}", $"{Pid}"]) ?? throw new InvalidOperationException("kill did not start");
        kill.WaitForExit();
    }

    /// <summary>The daemon's log once it holds <paramref name="text"/> (the console logger
    /// writes a moment after the event), or after 10 s without it.</summary>
    public async Task<string> LogWithAsync(string text)
    {
        for (var i = 0; i < 200 && !Log.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
        return Log;
    }

    /// <summary>Waits for the daemon to exit; its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => Daemon.WaitForExitAsync(timeout);

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public string SocketPath { get; private set; } = "";

    private DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("the daemon is not started");

    internal GrpcChannel Channel => Daemon.Channel;

    /// <summary>The generated client of the contract, for tests of the raw contract.</summary>
    internal RemoteMemory.RemoteMemoryClient Client => Daemon.Client;

    /// <summary>The daemon's answer to GetPlatform, asked once it serves.</summary>
    internal Platform Platform { get; private set; } = new();

    /// <summary>What the daemon wrote on stdout and stderr so far.</summary>
    public string Log => Daemon.Log;

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("pvmd-tests-");
        var arguments = WithDefaults([.. _arguments], _directory.FullName, out var socket, out var auditLog);
        SocketPath = socket;
        AuditLogPath = auditLog;
        _daemon = DaemonProcess.Start(SocketPath, arguments);
        await _daemon.WaitUntilServingAsync();
        try
        {
            Platform = await Client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.PermissionDenied)
        {
            // A policy that does not grant platform to root on the socket.
        }
    }

    /// <summary>The health service's answer, within a short deadline.</summary>
    internal Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync() => Daemon.CheckHealthAsync();

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
        _directory?.Delete(recursive: true);
    }
}

/// <summary>The tests that share one daemon. They run one after another, never in parallel
/// with each other, so the daemon's log of a failure belongs to one test.</summary>
[CollectionDefinition(Name)]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture>
{
    public const string Name = "daemon";
}
