using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Infrastructure;

/// <summary>
/// The real daemon, started as a process on a Unix socket in a temporary directory and
/// shared by every test of the <see cref="DaemonCollection"/>. Ready once the standard
/// health service answers SERVING; its stderr is kept for failure messages.
/// </summary>
public sealed class DaemonFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);

    private readonly OutputLog _log = new();
    private DirectoryInfo? _directory;
    private Process? _process;
    private GrpcChannel? _channel;

    public string SocketPath { get; private set; } = "";

    internal GrpcChannel Channel => _channel ?? throw new InvalidOperationException("the daemon is not started");

    /// <summary>The generated client of the contract, for tests of the raw contract.</summary>
    internal RemoteMemory.RemoteMemoryClient Client => new(Channel);

    internal Health.HealthClient Health => new(Channel);

    /// <summary>The daemon's answer to GetPlatform, asked once it serves.</summary>
    internal Platform Platform { get; private set; } = new();

    /// <summary>What the daemon wrote on stdout and stderr so far.</summary>
    public string Log => _log.ToString();

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("pvmd-tests-");
        SocketPath = Path.Combine(_directory.FullName, "pvmd.sock");
        var start = new ProcessStartInfo(RepoPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--socket");
        start.ArgumentList.Add(SocketPath);
        _process = Process.Start(start) ?? throw new InvalidOperationException("pvmd did not start");
        _process.ErrorDataReceived += (_, e) => _log.Append(e.Data);
        _process.OutputDataReceived += (_, e) => _log.Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        _channel = UnixSocketChannel.Create(SocketPath);
        await WaitUntilServingAsync();
        Platform = await Client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
    }

    /// <summary>The health service's answer, within a short deadline.</summary>
    internal async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync()
    {
        var response = await Health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        return response.Status;
    }

    private async Task WaitUntilServingAsync()
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < s_startTimeout)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"pvmd exited with code {_process.ExitCode} before serving:\n{Log}");
            }
            if (File.Exists(SocketPath))
            {
                try
                {
                    if (await CheckHealthAsync() == HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        return;
                    }
                }
                catch (RpcException e)
                {
                    last = e;
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"pvmd did not report SERVING within {s_startTimeout.TotalSeconds} s (last error: {last?.Message}):\n{Log}");
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
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
