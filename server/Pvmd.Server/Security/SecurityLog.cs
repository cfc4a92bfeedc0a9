namespace Pvmd.Server.Security;

/// <summary>Log messages of authentication, authorization, audit and hardening (event ids 100+).</summary>
internal static partial class SecurityLog
{
    [LoggerMessage(100, LogLevel.Warning, "Closed a Unix socket connection ({ConnectionId}) whose peer credentials could not be read")]
    public static partial void NoPeerCredentials(ILogger logger, string connectionId);

    [LoggerMessage(101, LogLevel.Warning, "DENIED {Operation} by {Caller} on {Target}: {Explanation}")]
    public static partial void Denied(ILogger logger, string operation, string caller, string target, string explanation);

    [LoggerMessage(102, LogLevel.Warning, "INSECURE: {Method} from {Caller} over TCP without TLS or authentication (--insecure)")]
    public static partial void InsecureCall(ILogger logger, string method, string caller);

    [LoggerMessage(103, LogLevel.Warning, "INSECURE: {Endpoint} accepts plain TCP without TLS or authentication (--insecure): any local process that can connect is a caller")]
    public static partial void InsecureListener(ILogger logger, string endpoint);

    [LoggerMessage(104, LogLevel.Information, "Policy: {Rules} rules from {Source}")]
    public static partial void PolicyLoaded(ILogger logger, int rules, string source);

    [LoggerMessage(105, LogLevel.Information, "SIGHUP: reloaded the policy, {Rules} rules from {Source}")]
    public static partial void PolicyReloaded(ILogger logger, int rules, string source);

    [LoggerMessage(106, LogLevel.Error, "SIGHUP: kept the previous policy ({Rules} rules): {Error}")]
    public static partial void PolicyReloadFailed(ILogger logger, int rules, string error);

    [LoggerMessage(107, LogLevel.Error, "Cannot append to the audit log {Path}")]
    public static partial void AuditFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(108, LogLevel.Information, "Audit log: {Path}")]
    public static partial void AuditLogOpened(ILogger logger, string path);

    [LoggerMessage(109, LogLevel.Warning, "Audit log disabled (--audit-log is empty): writes and denials leave no record")]
    public static partial void AuditLogDisabled(ILogger logger);

    [LoggerMessage(110, LogLevel.Information, "TLS on {Endpoint}: client certificates required, signed by {Authorities}")]
    public static partial void TlsListener(ILogger logger, string endpoint, string authorities);

    [LoggerMessage(111, LogLevel.Warning, "Thread {Thread} holds capabilities {Capabilities} beyond the daemon's")]
    public static partial void ThreadCapabilities(ILogger logger, int thread, string capabilities);

    [LoggerMessage(112, LogLevel.Warning, "Could not drop capabilities: {Error}")]
    public static partial void CapabilitiesNotDropped(ILogger logger, string error);

    [LoggerMessage(113, LogLevel.Warning, "TCP callers are denied everything by the built-in default policy: give --policy with rules for certificate subjects")]
    public static partial void TcpWithDefaultPolicy(ILogger logger);

    [LoggerMessage(114, LogLevel.Warning, "Refused a client certificate ({Subject}): {Errors}")]
    public static partial void ClientCertificateRefused(ILogger logger, string subject, string errors);

    [LoggerMessage(115, LogLevel.Warning, "The TLS key {Path} can be read by group or others (mode {Mode}): make it 0600")]
    public static partial void KeyFileReadable(ILogger logger, string path, string mode);
}
