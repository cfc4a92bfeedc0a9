namespace Pvmd.Server.Hosting;

/// <summary>The daemon's log messages, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "pvmd {Version} listening on {Endpoints}; CAP_SYS_PTRACE {Capability}; {Capabilities}; {Yama}")]
    public static partial void Started(ILogger logger, string version, string endpoints, string capability, string capabilities, string yama);

    [LoggerMessage(2, LogLevel.Warning, "Replaced the stale socket {Path} (no daemon answered on it)")]
    public static partial void StaleSocketReplaced(ILogger logger, string path);

    [LoggerMessage(4, LogLevel.Information, "{Method} refused: {Status} {Reason}: {Detail}")]
    public static partial void Refused(ILogger logger, string method, string status, string reason, string detail);

    [LoggerMessage(5, LogLevel.Error, "{Method} failed unexpectedly")]
    public static partial void Unexpected(ILogger logger, Exception exception, string method);

    [LoggerMessage(6, LogLevel.Information, "Removed socket {Path}")]
    public static partial void SocketRemoved(ILogger logger, string path);
}
