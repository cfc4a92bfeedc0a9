using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Pvmd.Server.Security;

/// <summary>How a caller reached the daemon, which decides what identifies it.</summary>
public enum CallerTransport
{
    /// <summary>The Unix socket: uid, gid and pid from SO_PEERCRED, given by the kernel.</summary>
    UnixSocket,
    /// <summary>TCP with mutual TLS: the subject of a client certificate the configured CA signed.</summary>
    Tls,
    /// <summary>TCP without TLS (--insecure, loopback only): nothing identifies the caller.</summary>
    InsecureTcp,
}

/// <summary>Who is calling: the identity the policy matches and the audit log records.</summary>
public sealed record Caller(CallerTransport Transport, uint? Uid = null, uint? Gid = null, int? Pid = null, string? Subject = null, string? Remote = null)
{
    /// <summary>The name under which concurrent requests are counted.</summary>
    public string Key => Transport switch
    {
        CallerTransport.UnixSocket => $"uid:{Uid}",
        CallerTransport.Tls => $"subject:{Subject}",
        _ => "insecure",
    };

    public string TransportName => Transport switch
    {
        CallerTransport.UnixSocket => "unix",
        CallerTransport.Tls => "tls",
        _ => "insecure",
    };

    public override string ToString() => Transport switch
    {
        CallerTransport.UnixSocket => $"uid {Uid} gid {Gid} pid {Pid}",
        CallerTransport.Tls => $"certificate '{Subject}' from {Remote}",
        _ => $"insecure TCP caller {Remote}",
    };
}

/// <summary>The kernel's credentials of the process at the other end of a Unix socket
/// connection, read once when the connection is accepted.</summary>
public sealed record PeerCredentialsFeature(int Pid, uint Uid, uint Gid);

/// <summary>SO_PEERCRED on accepted Unix socket connections.</summary>
public static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeercred = 17;

    /// <summary>Reads the peer's struct ucred { pid_t pid; uid_t uid; gid_t gid; }. These are
    /// the credentials the peer had when it called connect(2); the kernel fills them in, so
    /// the peer cannot lie about them.</summary>
    public static PeerCredentialsFeature? Read(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeercred, ucred) != ucred.Length)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }
        var pid = MemoryMarshal.Read<int>(ucred);
        var uid = MemoryMarshal.Read<uint>(ucred[4..]);
        var gid = MemoryMarshal.Read<uint>(ucred[8..]);
        return new PeerCredentialsFeature(pid, uid, gid);
    }

    /// <summary>A connection middleware for the Unix socket listener: attaches the peer's
    /// credentials to the connection, and closes a connection whose credentials cannot be read
    /// (the daemon never serves an unidentified caller on the socket).</summary>
    public static ListenOptions UsePeerCredentials(this ListenOptions listen, ILogger logger)
    {
        listen.Use(next => async connection =>
        {
            var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
            var credentials = socket is null ? null : Read(socket);
            if (credentials is null)
            {
                SecurityLog.NoPeerCredentials(logger, connection.ConnectionId);
                connection.Abort(new ConnectionAbortedException("no peer credentials"));
                return;
            }
            connection.Features.Set(credentials);
            await next(connection);
        });
        return listen;
    }
}

/// <summary>Finds the caller of a gRPC call from its connection.</summary>
public static class CallerResolver
{
    /// <summary>The caller, or null when the connection carries no identity (which the
    /// listeners' setup makes impossible: the interceptor then refuses the call).</summary>
    public static Caller? Resolve(HttpContext http, bool insecureTcpAllowed)
    {
        var remote = http.Connection.RemoteIpAddress is { } address ? $"{address}:{http.Connection.RemotePort}" : null;
        if (http.Features.Get<PeerCredentialsFeature>() is { } peer)
        {
            return new Caller(CallerTransport.UnixSocket, peer.Uid, peer.Gid, peer.Pid);
        }
        if (http.Connection.ClientCertificate is { } certificate)
        {
            return new Caller(CallerTransport.Tls, Subject: certificate.Subject, Remote: remote);
        }
        if (insecureTcpAllowed && remote is not null && !http.Request.IsHttps)
        {
            return new Caller(CallerTransport.InsecureTcp, Remote: remote);
        }
        return null;
    }
}
