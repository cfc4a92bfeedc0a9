using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pvmd.Server.Security;

namespace Pvmd.Server.LocalPath;

/// <summary>
/// One-time tickets that tie a connection to the local socket to an OpenLocalPath call: a
/// ticket is good once, for a few seconds, and only for the process (uid and pid, both from
/// SO_PEERCRED) that asked for it. The local socket thus serves only callers the gRPC pipeline
/// has authenticated and let read something.
/// </summary>
public sealed class LocalPathTickets(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, Issued> _issued = new();

    public byte[] Issue(PeerCredentialsFeature peer)
    {
        var now = time.GetUtcNow();
        // Expired tickets go on every issue: the table never grows past a few seconds' worth.
        foreach (var (key, issued) in _issued)
        {
            if (issued.Expires < now)
            {
                _issued.TryRemove(key, out _);
            }
        }
        var ticket = RandomNumberGenerator.GetBytes(32);
        _issued[Convert.ToHexString(ticket)] = new Issued(peer.Uid, peer.Pid, now + Lifetime);
        return ticket;
    }

    /// <summary>Consumes the ticket; true when it was issued to this peer and is still valid.</summary>
    public bool Redeem(ReadOnlySpan<byte> ticket, PeerCredentialsFeature peer) =>
        _issued.TryRemove(Convert.ToHexString(ticket), out var issued)
        && issued.Uid == peer.Uid
        && issued.Pid == peer.Pid
        && issued.Expires >= time.GetUtcNow();

    private sealed record Issued(uint Uid, int Pid, DateTimeOffset Expires);
}
