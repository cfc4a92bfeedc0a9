using System.Reflection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Pvmd.Client;

namespace Pvmd.Cli;

/// <summary>
/// pvmctl's traces: when an OTLP endpoint is given (--otlp-endpoint, else the standard
/// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), the client spans of
/// Pvmd.Client are exported there, with the rest of the OTEL_* settings (protocol, headers,
/// OTEL_SERVICE_NAME) as usual. Without one nothing listens and no span is made. Disposing the
/// provider flushes the spans, so the command's trace is out before pvmctl exits.
/// </summary>
internal static class CliTelemetry
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static TracerProvider? Start(Uri? endpoint)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase)
            || string.Equals(Environment.GetEnvironmentVariable("OTEL_TRACES_EXPORTER"), "none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (endpoint is null
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EndpointVariable))
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")))
        {
            return null;
        }
        var serviceName = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : "pvmctl";
        var version = typeof(CliTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        return Sdk.CreateTracerProviderBuilder()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: version))
            .AddSource(PvmdClientTelemetry.SourceName)
            .AddOtlpExporter(options =>
            {
                if (endpoint is not null)
                {
                    // The protocol is the one OTEL_EXPORTER_OTLP_PROTOCOL chose (gRPC by default);
                    // over HTTP the signal's path is added, as for the variable.
                    options.Endpoint = options.Protocol == OtlpExportProtocol.HttpProtobuf
                        ? new Uri(endpoint.ToString().TrimEnd('/') + "/v1/traces")
                        : endpoint;
                }
            })
            .Build();
    }
}
