using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Pvmd.Server.Hosting;

/// <summary><c>pvmd --health-check [--socket PATH]</c>: asks a running daemon's
/// grpc.health.v1.Health/Check over its Unix socket and exits 0 when it answers SERVING.
/// The container image has no shell and no curl, and Kubernetes' native gRPC probe needs a TCP
/// port that would put the daemon on the pod network; so the image's HEALTHCHECK and the
/// DaemonSet's exec probes run the daemon's own binary in this mode instead.</summary>
public static class HealthProbe
{
    public const string Switch = "--health-check";

    // Below the 10 s the image and the DaemonSet give a probe: a cold first call on a loaded host
    // takes seconds.
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(6);

    /// <summary>Runs the probe. Exit codes: 0 serving, 1 not serving or unreachable, 2 bad arguments.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        // The same sources as the daemon, so a probe started in the daemon's environment
        // (a container's exec, a HEALTHCHECK) finds the daemon's socket without arguments.
        var socket = Environment.GetEnvironmentVariable("PVMD_SOCKET")
            ?? Environment.GetEnvironmentVariable($"{PvmdOptions.Section}__{nameof(PvmdOptions.Socket)}")
            ?? new PvmdOptions().Socket;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--socket" && i + 1 < args.Length)
            {
                socket = args[++i];
            }
            else if (args[i].StartsWith("--socket=", StringComparison.Ordinal))
            {
                socket = args[i]["--socket=".Length..];
            }
            else
            {
                Console.Error.WriteLine($"pvmd: unknown health-check argument '{args[i]}'; usage: pvmd {Switch} [--socket PATH]");
                return 2;
            }
        }
        if (string.IsNullOrEmpty(socket))
        {
            Console.Error.WriteLine("pvmd: the health check asks the Unix socket, and none is configured");
            return 2;
        }

        if (!File.Exists(socket))
        {
            Console.Error.WriteLine($"pvmd: health check: no socket at {socket}");
            return 1;
        }

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await unix.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    return new NetworkStream(unix, ownsSocket: true);
                }
                catch
                {
                    unix.Dispose();
                    throw;
                }
            },
        };
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + s_deadline);
            Console.WriteLine(reply.Status);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException e)
        {
            Console.Error.WriteLine($"pvmd: health check on {socket} failed: {e.StatusCode}: {e.Status.Detail}");
            return 1;
        }
    }
}
