namespace Pvmd.Client;

/// <summary>Where the daemon listens and how to talk to it. Give exactly one of
/// <see cref="SocketPath"/> (the default deployment: a Unix socket, HTTP/2 without TLS, access
/// controlled by the socket's file permissions) or <see cref="Address"/> (http or https).</summary>
/// <remarks>Mutual TLS (a client certificate and a CA bundle) is <see cref="Tls"/>, for an
/// https <see cref="Address"/> only; without it an https address validates the daemon's
/// certificate against the system trust store and presents no client certificate.</remarks>
public sealed record PvmdClientOptions
{
    /// <summary>The socket the daemon listens on when it is not told otherwise.</summary>
    public const string DefaultSocketPath = "/run/pvmd/pvmd.sock";

    /// <summary>The default for <see cref="MaxReceiveMessageSize"/>: 16 MiB, well above the
    /// daemon's read chunks, so a change of chunk size on the daemon does not break clients.</summary>
    public const int DefaultMaxReceiveMessageSize = 16 * 1024 * 1024;

    /// <summary>Path of the daemon's Unix domain socket.</summary>
    public string? SocketPath { get; init; }

    /// <summary>The daemon's URL (http or https) when it listens on TCP.</summary>
    public Uri? Address { get; init; }

    /// <summary>Client certificate and trusted authorities for an https <see cref="Address"/>.</summary>
    public PvmdTlsOptions? Tls { get; init; }

    /// <summary>Read through the node-local path (shared memory, no protobuf framing of the
    /// bytes) when the daemon is on this node's Unix socket and offers it; otherwise, and when
    /// false, reads go over gRPC. Same results either way.</summary>
    public bool UseLocalPath { get; init; } = true;

    /// <summary>The largest message the client accepts from the daemon, in bytes.</summary>
    public int MaxReceiveMessageSize { get; init; } = DefaultMaxReceiveMessageSize;

    /// <summary>A human-readable name of the endpoint for messages: <c>unix:/path</c> or the URL.</summary>
    public string Endpoint => SocketPath is not null ? $"unix:{SocketPath}" : Address?.ToString() ?? "(none)";

    /// <summary>Options for a daemon on a Unix domain socket.</summary>
    /// <param name="socketPath">The socket's path.</param>
    /// <returns>The options.</returns>
    public static PvmdClientOptions ForSocket(string socketPath) => new() { SocketPath = socketPath };

    /// <summary>Options for a daemon at an http or https URL.</summary>
    /// <param name="address">The daemon's URL.</param>
    /// <returns>The options.</returns>
    public static PvmdClientOptions ForAddress(Uri address) => new() { Address = address };

    /// <summary>Checks that the options describe exactly one usable endpoint.</summary>
    /// <exception cref="ArgumentException">The options are incomplete or contradictory.</exception>
    public void Validate()
    {
        if ((SocketPath is null) == (Address is null))
        {
            throw new ArgumentException("Give exactly one of SocketPath and Address.");
        }

        if (SocketPath is not null && SocketPath.Length == 0)
        {
            throw new ArgumentException("SocketPath is empty.");
        }

        if (Address is not null
            && (!Address.IsAbsoluteUri || (Address.Scheme != Uri.UriSchemeHttp && Address.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"Address must be an absolute http or https URL, not '{Address}'.");
        }

        if (Tls is not null && Address?.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("Tls applies to an https Address only.");
        }

        if (MaxReceiveMessageSize <= 0)
        {
            throw new ArgumentException("MaxReceiveMessageSize must be positive.");
        }
    }
}
