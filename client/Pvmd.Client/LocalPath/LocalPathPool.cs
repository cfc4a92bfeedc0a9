using System.Collections.Concurrent;
using System.Net.Sockets;
using Grpc.Core;
using Pvmd.V1;

namespace Pvmd.Client.LocalPath;

/// <summary>
/// The client's node-local connections: opened on demand (an OpenLocalPath call, then the
/// local socket), kept idle for the next read, one read per connection at a time. When the
/// daemon does not offer the path, or its socket is not reachable from this process (another
/// mount namespace), the pool says so once and every read goes over gRPC.
/// </summary>
internal sealed class LocalPathPool(RemoteMemory.RemoteMemoryClient grpc, string daemonSocket) : IDisposable
{
    private const int MaxIdle = 8;
    private readonly ConcurrentQueue<LocalPathConnection> _idle = new();
    private volatile bool _unavailable;
    private volatile bool _disposed;

    /// <summary>Why the path is not used, once that is known.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>An idle connection or a new one; null when reads must go over gRPC.</summary>
    public async Task<LocalPathConnection?> RentAsync(CancellationToken cancellationToken)
    {
        if (_unavailable || _disposed)
        {
            return null;
        }
        if (_idle.TryDequeue(out var idle))
        {
            return idle;
        }
        LocalPathGrant grant;
        try
        {
            grant = await grpc.OpenLocalPathAsync(new OpenLocalPathRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.Unimplemented)
        {
            // Off on this daemon, or a daemon from before the path: gRPC it is, for good.
            return Unavailable(e.Status.Detail);
        }
        catch (RpcException)
        {
            // Anything else (unreachable, refused, busy): the gRPC call that follows reports it.
            return null;
        }
        var directory = Path.GetDirectoryName(daemonSocket) ?? "/";
        var path = Path.Combine(directory, Path.GetFileName(grant.SocketPath));
        try
        {
            return LocalPathConnection.Open(path, grant.Ticket);
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            return Unavailable($"{path}: {e.Message}");
        }
    }

    /// <summary>Takes back a connection after a read; one left mid-read or aborted is closed.</summary>
    public void Return(LocalPathConnection connection)
    {
        if (_disposed || !connection.Reusable || _idle.Count >= MaxIdle)
        {
            connection.Dispose();
            return;
        }
        _idle.Enqueue(connection);
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryDequeue(out var connection))
        {
            connection.Dispose();
        }
    }

    private LocalPathConnection? Unavailable(string reason)
    {
        UnavailableReason = reason;
        _unavailable = true;
        return null;
    }
}
