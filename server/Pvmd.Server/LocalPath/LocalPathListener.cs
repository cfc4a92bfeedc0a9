using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Pvmd.Server.Hosting;
using Pvmd.Server.Security;
using Pvmd.Server.Telemetry;

namespace Pvmd.Server.LocalPath;

/// <summary>
/// The node-local path's socket (the daemon's socket path + ".local", same mode): accepts
/// connections and serves each on a thread of its own (<see cref="LocalPathSession"/>). At most
/// <see cref="MaxSessions"/> connections at a time; each holds two shared slots, so the local
/// path's memory is bounded like the rest of the daemon's.
/// </summary>
public sealed partial class LocalPathListener(
    IOptions<PvmdOptions> options,
    LocalPathTickets tickets,
    AccessInterceptor access,
    ErrorMappingInterceptor errors,
    PvmdInstrumentation telemetry,
    ILogger<LocalPathListener> logger) : IHostedService
{
    public const int MaxSessions = 64;
    private readonly ConcurrentDictionary<LocalPathSession, byte> _sessions = new();
    private Socket? _listener;

    /// <summary>The socket's path while the path is offered; null when it is off.</summary>
    public string? SocketPath { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var daemon = options.Value;
        if (!daemon.LocalPath || string.IsNullOrEmpty(daemon.Socket))
        {
            return Task.CompletedTask;
        }
        var path = daemon.Socket + PvmdOptionsValidator.LocalPathSuffix;
        UnixSocket.Prepare(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, daemon.ParsedSocketMode);
        listener.Listen(MaxSessions);
        _listener = listener;
        SocketPath = path;
        var context = new LocalPathContext(daemon.Limits, daemon.FaultInjection.ToEngine(), daemon.LocalPathSlotBytes, tickets, access, errors, telemetry);
        new Thread(() => Accept(listener, context)) { IsBackground = true, Name = "pvmd local path" }.Start();
        Listening(logger, path, daemon.LocalPathSlotBytes);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        foreach (var session in _sessions.Keys)
        {
            session.Abort();
        }
        if (SocketPath is { } path && File.Exists(path))
        {
            File.Delete(path);
        }
        return Task.CompletedTask;
    }

    private void Accept(Socket listener, LocalPathContext context)
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // stopping
            }
            if (_sessions.Count >= MaxSessions)
            {
                // The client falls back to gRPC, whose limits then answer.
                TooManySessions(logger, MaxSessions);
                connection.Dispose();
                continue;
            }
            var session = new LocalPathSession(connection, context);
            _sessions[session] = 0;
            new Thread(() =>
            {
                try
                {
                    session.Run();
                }
                finally
                {
                    _sessions.TryRemove(session, out _);
                }
            })
            { IsBackground = true, Name = "pvmd local path session" }.Start();
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "local path on {Path} (two shared slots of {SlotBytes} bytes per connection)")]
    private static partial void Listening(ILogger logger, string path, int slotBytes);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "local path: {Max} connections already open; a new one is closed (its client falls back to gRPC)")]
    private static partial void TooManySessions(ILogger logger, int max);
}

/// <summary>Registration of the node-local path.</summary>
public static class LocalPathHosting
{
    public static IServiceCollection AddPvmdLocalPath(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LocalPathTickets>();
        services.AddSingleton<LocalPathListener>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalPathListener>());
        return services;
    }
}
