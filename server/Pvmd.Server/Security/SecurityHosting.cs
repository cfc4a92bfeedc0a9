using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Pvmd.Server.Hosting;

namespace Pvmd.Server.Security;

/// <summary>Wires authentication, authorization, audit and limits into the host.</summary>
public static class SecurityHosting
{
    /// <summary>Binds and checks the security options, loads the policy and the TLS files, and
    /// opens the audit log once to prove it can be written. Returns an error sentence or null.</summary>
    public static string? Prepare(IConfiguration configuration, PvmdOptions daemon, out SecurityOptions security, out Policy policy, out TransportSecurity? transport)
    {
        security = new SecurityOptions();
        policy = PolicyParser.Default;
        transport = null;
        try
        {
            configuration.GetSection(PvmdOptions.Section).Bind(security);
        }
        catch (InvalidOperationException e)
        {
            // A value of the wrong type (PVMD_INSECURE=yes, --max-concurrent=many).
            return $"invalid options: {e.InnerException?.Message ?? e.Message}";
        }
        var failures = SecurityOptionsValidator.Validate(security, daemon);
        if (failures.Count > 0)
        {
            return $"invalid options: {string.Join("; ", failures)}";
        }
        try
        {
            policy = PolicyStore.Load(security);
        }
        catch (PolicyException e)
        {
            return $"invalid policy: {e.Message}";
        }
        try
        {
            transport = security.TcpUsesTls ? TransportSecurity.Load(security) : null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        if (!string.IsNullOrEmpty(security.AuditLog))
        {
            try
            {
                AuditLog.OpenFile(security.AuditLog).Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"cannot use --audit-log: {e.Message}";
            }
        }
        return null;
    }

    public static IServiceCollection AddPvmdSecurity(this IServiceCollection services, IConfiguration configuration, SecurityOptions security, Policy policy)
    {
        services.AddOptions<SecurityOptions>().Bind(configuration.GetSection(PvmdOptions.Section));
        services.AddSingleton(sp => new PolicyStore(policy, security, sp.GetRequiredService<ILogger<PolicyStore>>()));
        services.AddSingleton(sp => new AuditLog(security.AuditLog, sp.GetRequiredService<ILogger<AuditLog>>()));
        services.AddSingleton(new ConcurrencyLimiter(security.MaxConcurrentRequests, security.MaxConcurrentPerCaller));
        // One instance, shared by the gRPC pipeline and the node-local path.
        services.AddSingleton<AccessInterceptor>();
        services.AddHostedService<SecuritySignals>();
        return services;
    }

    /// <summary>
    /// Keeps the promise that the daemon never answers UNKNOWN. A request message that cannot be
    /// decoded (truncated or invalid protobuf, a length prefix beyond 2 GiB) fails inside
    /// grpc-dotnet before any interceptor runs, and grpc-dotnet answers UNKNOWN for it; such a
    /// call gets INTERNAL ("malformed request message"), the code gRPC gives to a request it
    /// cannot parse. Those answers are trailers-only, so their status is in the headers.
    /// </summary>
    public static IApplicationBuilder UseMalformedRequestStatus(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            if (headers.TryGetValue("grpc-status", out var status) && status == "2")
            {
                headers["grpc-status"] = "13";
                headers["grpc-message"] = "malformed request message";
            }
            return Task.CompletedTask;
        });
        return next(context);
    });

    /// <summary>Start lines: the policy, the audit log, how TCP is protected.</summary>
    public static void LogStart(IServiceProvider services, PvmdOptions daemon, TransportSecurity? transport)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Pvmd.Server.Security");
        var security = services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var policy = services.GetRequiredService<PolicyStore>().Current;
        SecurityLog.PolicyLoaded(logger, policy.Rules.Count, policy.Source);
        var audit = services.GetRequiredService<AuditLog>();
        if (audit.Path is { } path)
        {
            SecurityLog.AuditLogOpened(logger, path);
        }
        else
        {
            SecurityLog.AuditLogDisabled(logger);
        }
        if (!string.IsNullOrEmpty(daemon.Listen))
        {
            if (transport is not null)
            {
                SecurityLog.TlsListener(logger, daemon.Listen, transport.AuthoritiesDescription);
                if (security.TlsKey is { } key && (File.GetUnixFileMode(key) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
                {
                    SecurityLog.KeyFileReadable(logger, key, Convert.ToString((int)File.GetUnixFileMode(key), 8));
                }
            }
            else
            {
                SecurityLog.InsecureListener(logger, daemon.Listen);
            }
            if (policy.Source == PolicyParser.DefaultSource)
            {
                SecurityLog.TcpWithDefaultPolicy(logger);
            }
        }
    }

    /// <summary>SIGHUP: reload the policy and reopen the audit log. Registering it also keeps
    /// the default action of SIGHUP (terminate) from ever stopping the daemon.</summary>
    private sealed class SecuritySignals(PolicyStore policies, AuditLog audit, IOptions<SecurityOptions> options) : IHostedService, IDisposable
    {
        private PosixSignalRegistration? _registration;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                if (!string.IsNullOrEmpty(options.Value.Policy))
                {
                    policies.Reload();
                }
                audit.Reopen();
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _registration?.Dispose();
    }
}
