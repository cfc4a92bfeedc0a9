using System.CommandLine;
using System.CommandLine.Invocation;
using System.Text;
using Pvmd.Client;

namespace Pvmd.Cli;

/// <summary>What a command's body gets: the parse result, the output streams, and the daemon(s).</summary>
internal sealed class CommandContext(ParseResult parseResult, GlobalOptions globals, Stream stdout, CancellationToken cancellationToken)
    : IAsyncDisposable
{
    private readonly List<PvmdClient> _clients = [];

    public ParseResult ParseResult { get; } = parseResult;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Standard output as text (buffered; flushed when the command ends).</summary>
    public TextWriter Out { get; } = new StreamWriter(stdout, new UTF8Encoding(false), 1 << 16) { AutoFlush = false };

    /// <summary>Standard output as bytes; flush <see cref="Out"/> before mixing the two.</summary>
    public Stream RawOut { get; } = stdout;

    public TextWriter Error { get; } = Console.Error;

    /// <summary>A client for the one daemon the command line names.</summary>
    public PvmdClient Connect()
    {
        var endpoints = globals.ResolveEndpoints(ParseResult);
        if (endpoints.Count != 1)
        {
            throw new UsageException($"this command talks to one daemon; {endpoints.Count} were given (--socket/--address)");
        }

        return Track(new PvmdClient(endpoints[0]));
    }

    /// <summary>True once the command talks to several daemons: errors then name the daemon.</summary>
    public bool ManyDaemons { get; private set; }

    /// <summary>Clients for every daemon the command line names.</summary>
    public IReadOnlyList<PvmdClient> ConnectAll()
    {
        ManyDaemons = true;
        return [.. globals.ResolveEndpoints(ParseResult).Select(e => Track(new PvmdClient(e)))];
    }

    public T GetValue<T>(Option<T> option) => ParseResult.GetValue(option)!;

    public async ValueTask DisposeAsync()
    {
        await Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private PvmdClient Track(PvmdClient client)
    {
        _clients.Add(client);
        return client;
    }
}

/// <summary>Runs command bodies and the command line: failures become one line on stderr
/// (stack trace only with --verbose) and an <see cref="ExitCode"/>.</summary>
internal static class CommandRunner
{
    /// <summary>Parses and runs; parse errors are one line and exit code Usage.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            var command = parseResult.CommandResult.Command;
            var path = command == root ? "pvmctl" : "pvmctl " + command.Name;
            var errors = string.Join("; ", parseResult.Errors.Select(e => e.Message));
            await Console.Error.WriteLineAsync($"{ErrorReport.Prefix}{errors} (see '{path} --help')").ConfigureAwait(false);
            return (int)ExitCode.Usage;
        }

        return await parseResult.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Binds a command's body: the action runs it with a context and maps what it throws.</summary>
    public static void SetBody(Command command, GlobalOptions globals, Func<CommandContext, Task<ExitCode>> body) =>
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, globals, body, cancellationToken));

    private static async Task<int> RunAsync(ParseResult parseResult, GlobalOptions globals, Func<CommandContext, Task<ExitCode>> body, CancellationToken cancellationToken)
    {
        var verbose = parseResult.GetValue(globals.Verbose);
        var context = new CommandContext(parseResult, globals, Console.OpenStandardOutput(), cancellationToken);
        try
        {
            try
            {
                return (int)await body(context).ConfigureAwait(false);
            }
            finally
            {
                await context.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync(ErrorReport.OneLine(e, context.ManyDaemons)).ConfigureAwait(false);
            if (verbose)
            {
                await Console.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }

            return (int)ExitCodes.FromException(e);
        }
    }
}
