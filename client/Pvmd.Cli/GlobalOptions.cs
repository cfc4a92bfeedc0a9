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

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "On failure, print the stack trace after the one-line error.",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Socket);
        root.Options.Add(Address);
        root.Options.Add(Verbose);
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

    public IReadOnlyList<PvmdClientOptions> ResolveEndpoints(ParseResult parseResult) =>
        ResolveEndpoints(
            parseResult.GetValue(Socket) ?? [],
            parseResult.GetValue(Address) ?? [],
            Environment.GetEnvironmentVariable(SocketEnvironmentVariable));
}
