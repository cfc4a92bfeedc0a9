using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Pvmd.Core.Host;

namespace Pvmd.Server.Telemetry;

/// <summary>Wires OpenTelemetry into the host according to a <see cref="TelemetryPlan"/>. The
/// instrumentation type is registered always; the SDK only when some signal is exported, so a
/// daemon without telemetry carries no listener at all.</summary>
public static class TelemetrySetup
{
    public static void AddPvmdTelemetry(this WebApplicationBuilder builder, TelemetryPlan plan, HostFacts facts)
    {
        builder.Services.AddSingleton(services => new PvmdInstrumentation(facts, services.GetRequiredService<ILogger<PvmdInstrumentation>>()));
        if (plan.IsOff)
        {
            return;
        }
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : ResourceFacts.DefaultServiceName;
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(serviceName, serviceVersion: facts.DaemonVersion)
                .AddAttributes(ResourceFacts.Attributes(facts)));
        if (plan.Traces != Exporters.None)
        {
            otel.WithTracing(tracing =>
            {
                tracing.AddSource(TelemetryNames.Source)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsPlumbing(context.Request.Path));
                if (plan.Traces.HasFlag(Exporters.Otlp))
                {
                    tracing.AddOtlpExporter(o => Configure(o, plan, "v1/traces"));
                }
                if (plan.Traces.HasFlag(Exporters.Console))
                {
                    tracing.AddConsoleExporter();
                }
            });
        }
        if (plan.Metrics != Exporters.None)
        {
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(TelemetryNames.Source).AddAspNetCoreInstrumentation();
                if (plan.Metrics.HasFlag(Exporters.Otlp))
                {
                    metrics.AddOtlpExporter(o => Configure(o, plan, "v1/metrics"));
                }
                if (plan.Metrics.HasFlag(Exporters.Console))
                {
                    metrics.AddConsoleExporter();
                }
            });
        }
        if (plan.Logs != Exporters.None)
        {
            otel.WithLogging(
                logging =>
                {
                    if (plan.Logs.HasFlag(Exporters.Otlp))
                    {
                        logging.AddOtlpExporter(o => Configure(o, plan, "v1/logs"));
                    }
                    if (plan.Logs.HasFlag(Exporters.Console))
                    {
                        logging.AddConsoleExporter();
                    }
                },
                options =>
                {
                    options.IncludeFormattedMessage = true;
                    options.IncludeScopes = true;
                });
        }
    }

    /// <summary>Health probes and reflection would bury the memory RPCs in traces.</summary>
    private static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/grpc.health.v1.Health") || path.StartsWithSegments("/grpc.reflection.v1alpha.ServerReflection") || path.StartsWithSegments("/grpc.reflection.v1.ServerReflection");

    /// <summary>The pvmd option's endpoint and protocol, when given, win over OTEL_*; an
    /// endpoint given for HTTP gets the signal's path, as the OTEL_* one does.</summary>
    private static void Configure(OtlpExporterOptions options, TelemetryPlan plan, string signalPath)
    {
        options.Protocol = plan.Protocol;
        if (plan.Endpoint is { } endpoint)
        {
            options.Endpoint = plan.Protocol == OtlpExportProtocol.Grpc
                ? endpoint
                : new Uri(endpoint.ToString().TrimEnd('/') + "/" + signalPath);
        }
    }
}
