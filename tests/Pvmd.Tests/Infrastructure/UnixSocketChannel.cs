using System.Net.Sockets;
using Grpc.Net.Client;

namespace Pvmd.Tests.Infrastructure;

/// <summary>A gRPC channel (HTTP/2 cleartext) to a Unix domain socket.</summary>
internal static class UnixSocketChannel
{
    /// <summary>gRPC's default limit on a received message; the daemon's messages must fit it,
    /// so a client with default settings can read anything the daemon streams.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>The channel has no receive limit, so a test can measure the daemon's message
    /// sizes itself instead of failing inside the client.</summary>
    public static GrpcChannel Create(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = null,
        });
    }
}
