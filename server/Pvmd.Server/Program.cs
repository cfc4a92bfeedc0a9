using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Pvmd.Core.Host;
using Pvmd.Server.Hosting;
using Pvmd.Server.LocalPath;
using Pvmd.Server.Security;
using Pvmd.Server.Services;
using Pvmd.Server.Telemetry;

// pvmd: the daemon. Exit codes: 0 after a clean shutdown, 2 for bad arguments or options,
// 1 when it cannot start (socket in use, bind failed).

// The probe's scratch child is this executable re-run: it must not start the host.
if (args.Length > 0 && args[0] == Pvmd.Core.Probe.ScratchChild.Argument)
{
    return Pvmd.Core.Probe.ScratchChild.RunChildMode(args[1..]);
}
if (args.Length > 0 && args[0] == HealthProbe.Switch)
{
    return await HealthProbe.RunAsync(args[1..]);
}
if (CommandLine.FindError(args) is { } argumentError)
{
    Console.Error.WriteLine($"pvmd: {argumentError}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
args = CommandLine.Normalize(args);

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(EnvironmentSwitches());
builder.Configuration.AddCommandLine(args, CommandLine.Switches.ToDictionary());
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    o.UseUtcTimestamp = true;
});
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
// Logs go to stderr: stdout stays free for whoever runs the daemon in a pipeline.
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
// Under systemd (Type=notify): READY=1 once the socket listens, STOPPING=1, journald log levels.
// Elsewhere this does nothing.
builder.Host.UseSystemd();

builder.Services.AddOptions<PvmdOptions>().Bind(builder.Configuration.GetSection(PvmdOptions.Section));
builder.Services.AddSingleton<IValidateOptions<PvmdOptions>, PvmdOptionsValidator>();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

var options = new PvmdOptions();
builder.Configuration.GetSection(PvmdOptions.Section).Bind(options);
var validation = new PvmdOptionsValidator().Validate(null, options);
var telemetryErrors = new List<string>();
var telemetry = TelemetryPlan.Resolve(builder.Configuration, options.Telemetry, telemetryErrors);
if (validation.Failed || telemetryErrors.Count > 0)
{
    Console.Error.WriteLine($"pvmd: invalid options: {string.Join("; ", (validation.Failures ?? []).Concat(telemetryErrors))}");
    return 2;
}
builder.AddPvmdTelemetry(telemetry, HostFacts.Current);
if (SecurityHosting.Prepare(builder.Configuration, options, out var security, out var policy, out var transport) is { } securityError)
{
    Console.Error.WriteLine($"pvmd: {securityError}");
    return 2;
}
// Before anything is bound: this re-executes the daemon with only the capabilities it needs.
if (Hardening.RestrictCapabilities(options) is { } capabilityError)
{
    Console.Error.WriteLine($"pvmd: cannot drop capabilities: {capabilityError}");
    return 1;
}
builder.Services.AddPvmdSecurity(builder.Configuration, security, policy);

builder.Services.AddSingleton<ErrorMappingInterceptor>();
builder.Services.AddPvmdLocalPath();
builder.Services.AddGrpc(o =>
{
    o.Interceptors.Add<ErrorMappingInterceptor>();
    o.Interceptors.Add<AccessInterceptor>();
    o.MaxReceiveMessageSize = options.MaxWriteBytes + (64 << 10);
    o.MaxSendMessageSize = null;
    o.EnableDetailedErrors = false;
});
builder.Services.AddGrpcReflection();
builder.Services.AddGrpcHealthChecks().AddCheck("pvmd", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());

var staleSocketRemoved = false;
try
{
    if (!string.IsNullOrEmpty(options.Socket))
    {
        staleSocketRemoved = UnixSocket.Prepare(options.Socket);
    }
}
catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"pvmd: cannot use socket {options.Socket}: {e.Message}");
    return 1;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    // Big HTTP/2 windows let a read stream at the pace of the syscall, not of the default 768 KiB window.
    kestrel.Limits.Http2.InitialConnectionWindowSize = 16 << 20;
    kestrel.Limits.Http2.InitialStreamWindowSize = 8 << 20;
    kestrel.Limits.Http2.MaxFrameSize = (1 << 20) - 1;
    kestrel.Limits.MaxRequestBodySize = null;
    if (!string.IsNullOrEmpty(options.Socket))
    {
        kestrel.ListenUnixSocket(options.Socket, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UsePeerCredentials(kestrel.ApplicationServices.GetRequiredService<ILogger<PeerCredentialsFeature>>());
        });
    }
    if (!string.IsNullOrEmpty(options.Listen) && PvmdOptionsValidator.TryParseEndpoint(options.Listen, out var host, out var port))
    {
        void Configure(ListenOptions l)
        {
            l.Protocols = HttpProtocols.Http2;
            transport?.Configure(l, kestrel.ApplicationServices.GetRequiredService<ILogger<TransportSecurity>>());
        }
        if (host is "localhost")
        {
            kestrel.ListenLocalhost(port, Configure);
        }
        else if (host is "*")
        {
            kestrel.ListenAnyIP(port, Configure);
        }
        else
        {
            kestrel.Listen(System.Net.IPAddress.Parse(host), port, Configure);
        }
    }
});

var app = builder.Build();
app.UseMalformedRequestStatus();
app.MapGrpcService<RemoteMemoryService>();
app.MapGrpcReflectionService();
app.MapGrpcHealthChecksService();

var logger = app.Services.GetRequiredService<ILogger<Program>>();
app.Lifetime.ApplicationStarted.Register(() =>
{
    if (!string.IsNullOrEmpty(options.Socket))
    {
        File.SetUnixFileMode(options.Socket, options.ParsedSocketMode);
        if (staleSocketRemoved)
        {
            Log.StaleSocketReplaced(logger, options.Socket);
        }
    }
    SecurityHosting.LogStart(app.Services, options, transport);
    var hardening = Hardening.AfterStart(logger);
    var facts = HostFacts.Current;
    var endpoints = string.Join(", ", new[] { options.Socket, options.Listen }.Where(e => !string.IsNullOrEmpty(e)));
    Log.Started(logger, facts.DaemonVersion, endpoints, HostFacts.ReadHasCapSysPtrace() ? "held" : "NOT held", hardening, Hardening.DescribeYama(HostFacts.ReadYamaPtraceScope()));
    TelemetryLog.Plan(logger, telemetry.ToString());
    if (options.FaultInjection.ToEngine() is { } faults)
    {
        var where = string.Join(" and ", new[]
        {
            faults.Reads ? "verified reads that stop short" : null,
            faults.Probe ? $"one probe case in {faults.ProbeEvery}" : null,
        }.Where(part => part is not null));
        TelemetryLog.FaultInjectionOn(logger, faults.ExtraBytes, where);
    }
});
app.Lifetime.ApplicationStopped.Register(() =>
{
    if (!string.IsNullOrEmpty(options.Socket) && File.Exists(options.Socket))
    {
        File.Delete(options.Socket);
        Log.SocketRemoved(logger, options.Socket);
    }
});

try
{
    await app.RunAsync();
}
catch (IOException e)
{
    Console.Error.WriteLine($"pvmd: cannot listen: {e.Message}");
    return 1;
}
return 0;

// PVMD_SOCKET, PVMD_MAX_RANGES, ...: the switch names in upper snake case.
static Dictionary<string, string?> EnvironmentSwitches()
{
    var result = new Dictionary<string, string?>();
    foreach (var (name, key) in CommandLine.Switches)
    {
        var variable = "PVMD_" + name.TrimStart('-').Replace('-', '_').ToUpperInvariant();
        if (Environment.GetEnvironmentVariable(variable) is { } value)
        {
            result[key] = value;
        }
    }
    return result;
}

/// <summary>The entry point's type, named for loggers and tests.</summary>
public partial class Program;
