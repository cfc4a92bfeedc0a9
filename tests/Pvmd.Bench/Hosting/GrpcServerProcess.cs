extern alias client;

using client::Pvmd.Client;

namespace Pvmd.Bench.Hosting;

/// <summary>A gRPC server the bench started on a Unix socket in its temporary directory: the
/// daemon, or the do-nothing baseline (this program re-run). Both serve pvmd.v1.RemoteMemory,
/// so one client library talks to both and "ready" means GetPlatform answers.</summary>
internal sealed class GrpcServerProcess : IDisposable
{
    private readonly ChildProcess _process;

    private GrpcServerProcess(ChildProcess process, string socketPath)
    {
        _process = process;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public int Pid => _process.Pid;

    public string Log => _process.Log;

    /// <summary>pvmd with its defaults (the built-in policy, default limits, telemetry off).</summary>
    public static Task<GrpcServerProcess> StartDaemonAsync(string directory) =>
        StartAsync("pvmd", BenchPaths.Daemon, directory, "pvmd.sock",
            socket => ["--socket", socket, "--audit-log", Path.Combine(directory, "audit.jsonl")]);

    /// <summary>The do-nothing server: <c>pvmd-bench baseline-server SOCKET</c>.</summary>
    public static Task<GrpcServerProcess> StartBaselineAsync(string directory) =>
        StartAsync("the baseline server", BenchPaths.Self, directory, "baseline.sock",
            socket => [Baseline.BaselineServer.Mode, socket]);

    /// <summary>A client of this server; <paramref name="configure"/> sets more options.</summary>
    public PvmdClient CreateClient(Func<PvmdClientOptions, PvmdClientOptions>? configure = null)
    {
        var options = PvmdClientOptions.ForSocket(SocketPath);
        return new PvmdClient(configure is null ? options : configure(options));
    }

    public void Dispose() => _process.Dispose();

    private static async Task<GrpcServerProcess> StartAsync(string name, string path, string directory, string socketName, Func<string, string[]> arguments)
    {
        var socket = Path.Combine(directory, socketName);
        var process = ChildProcess.Start(name, path, arguments(socket));
        var server = new GrpcServerProcess(process, socket);
        try
        {
            using var client = server.CreateClient();
            await process.WaitUntilAsync(async () =>
            {
                if (!File.Exists(socket))
                {
                    return false;
                }
                await client.GetPlatformAsync();
                return true;
            }, TimeSpan.FromSeconds(60));
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }
}
