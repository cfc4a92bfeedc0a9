using Google.Protobuf;
using Grpc.Core;
using Pvmd.Server.Security;
using Pvmd.V1;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    /// <summary>Hands a caller on the Unix socket a ticket for the local path's socket. The
    /// interceptor has authenticated the caller and checked that some rule lets it read; each
    /// read over the path is authorized on its own.</summary>
    public override Task<LocalPathGrant> OpenLocalPath(OpenLocalPathRequest request, ServerCallContext context)
    {
        if (localPath.SocketPath is not { } path)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "the local path is off on this daemon (--local-path false, or no --socket)"));
        }
        var peer = context.GetHttpContext().Features.Get<PeerCredentialsFeature>()
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "the local path serves callers on the daemon's Unix socket only"));
        // The file name only: the client finds it next to the socket it reached the daemon
        // on, whatever directory that socket is mounted at in its own mount namespace.
        return Task.FromResult(new LocalPathGrant { SocketPath = Path.GetFileName(path), Ticket = ByteString.CopyFrom(tickets.Issue(peer)) });
    }
}
