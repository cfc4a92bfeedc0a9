using System.CommandLine;
using Pvmd.Client;

namespace Pvmd.Cli;

/// <summary>The options every command accepts: where the daemon is, and how much to say on failure.</summary>
internal sealed class GlobalOptions
{
    /// <summary>The environment variable naming the daemon's socket when --socket is not given.</summary>
    public const string SocketEnvironmentVariable = "PVMD_SOCKET";

    public Option<string[]> Socket { get; } = new("--socket", "-s")
    {
        Description = $"The daemon's Unix socket (default: ${SocketEnvironmentVariable}, else {PvmdClientOptions.DefaultSocketPath}). 'compare' takes it more than once.",
        HelpName = "PATH",
        Recursive = true,
    };

    // 'read' and 'write' have their own --address (the memory address), which takes precedence
    // after the command name there; --url names the daemon everywhere.
    public Option<Uri[]> Address { get; } = new("--address", "--url")
    {
        Description = "The daemon's URL (http:// or https://) instead of a socket; in 'read' and 'write', where --address is the memory address, use --url. 'compare' takes it more than once.",
        HelpName = "URL",
        Recursive = true,
        CustomParser = result =>
        {
            var uris = new List<Uri>();
            foreach (var token in result.Tokens)
            {
                if (!Uri.TryCreate(token.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    result.AddError($"--address: '{token.Value}' is not an http:// or https:// URL");
                    return [];
                }

                uris.Add(uri);
            }

            return [.. uris];
        },
    };

    public Option<FileInfo?> TlsCertificate { get; } = new("--tls-cert")
    {
        Description = "Client certificate (PEM) for an https:// daemon: the daemon requires one, and its subject is who you are to the daemon's policy.",
        HelpName = "PEM",
        Recursive = true,
    };

    public Option<FileInfo?> TlsKey { get; } = new("--tls-key")
    {
        Description = "The client certificate's private key (PEM), when --tls-cert does not hold it.",
        HelpName = "PEM",
        Recursive = true,
    };

    public Option<FileInfo?> TlsAuthorities { get; } = new("--tls-ca")
    {
        Description = "CA bundle (PEM) that signs the daemon's certificate; without it, the system's trust store.",
        HelpName = "PEM",
        Recursive = true,
    };

    public Option<bool> NoLocalPath { get; } = new("--no-local-path")
    {
        Description = "Read over gRPC even when the daemon on this node's socket offers its local path (shared memory).",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "On failure, print the stack trace after the one-line error.",
        Recursive = true,
    };

    public Option<Uri?> OtlpEndpoint { get; } = new("--otlp-endpoint")
    {
        Description = $"Export this command's trace to an OTLP receiver (default: ${CliTelemetry.EndpointVariable}; none: no trace). The protocol is OTEL_EXPORTER_OTLP_PROTOCOL's, gRPC by default.",
        HelpName = "URL",
        Recursive = true,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (!Uri.TryCreate(token, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                result.AddError($"--otlp-endpoint: '{token}' is not an http:// or https:// URL");
                return null;
            }

            return uri;
        },
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Socket);
        root.Options.Add(Address);
        root.Options.Add(TlsCertificate);
        root.Options.Add(TlsKey);
        root.Options.Add(TlsAuthorities);
        root.Options.Add(NoLocalPath);
        root.Options.Add(Verbose);
        root.Options.Add(OtlpEndpoint);
    }

    /// <summary>The daemons the command line names: every --socket, then every --address; with
    /// neither, the socket from the environment variable, else the default socket.</summary>
    public static IReadOnlyList<PvmdClientOptions> ResolveEndpoints(IReadOnlyList<string> sockets, IReadOnlyList<Uri> addresses, string? environmentSocket)
    {
        if (sockets.Count == 0 && addresses.Count == 0)
        {
            var path = string.IsNullOrWhiteSpace(environmentSocket) ? PvmdClientOptions.DefaultSocketPath : environmentSocket;
            return [PvmdClientOptions.ForSocket(path)];
        }

        return [.. sockets.Select(PvmdClientOptions.ForSocket), .. addresses.Select(PvmdClientOptions.ForAddress)];
    }

    public IReadOnlyList<PvmdClientOptions> ResolveEndpoints(ParseResult parseResult)
    {
        var endpoints = ResolveEndpoints(
            parseResult.GetValue(Socket) ?? [],
            parseResult.GetValue(Address) ?? [],
            Environment.GetEnvironmentVariable(SocketEnvironmentVariable));
        if (parseResult.GetValue(NoLocalPath))
        {
            endpoints = [.. endpoints.Select(e => e with { UseLocalPath = false })];
        }
        var certificate = parseResult.GetValue(TlsCertificate);
        var key = parseResult.GetValue(TlsKey);
        var authorities = parseResult.GetValue(TlsAuthorities);
        if (certificate is null && key is null && authorities is null)
        {
            return endpoints;
        }
        if (key is not null && certificate is null)
        {
            throw new UsageException("--tls-key needs --tls-cert");
        }
        if (!endpoints.Any(e => e.Address?.Scheme == Uri.UriSchemeHttps))
        {
            throw new UsageException("--tls-cert, --tls-key and --tls-ca apply to an https:// daemon (--url)");
        }
        PvmdTlsOptions tls;
        try
        {
            tls = PvmdTlsOptions.FromPemFiles(certificate?.FullName, key?.FullName, authorities?.FullName);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return [.. endpoints.Select(e => e.Address?.Scheme == Uri.UriSchemeHttps ? e with { Tls = tls } : e)];
    }
}
