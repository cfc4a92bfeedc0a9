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
    private DirectoryInfo? _directory;
    private DaemonProcess? _daemon;

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
        SocketPath = Path.Combine(_directory.FullName, "pvmd.sock");
        _daemon = DaemonProcess.Start(SocketPath, ["--socket", SocketPath]);
        await _daemon.WaitUntilServingAsync();
        Platform = await Client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
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
