namespace Pvmd.Server.Hosting;

/// <summary>Pvmd:Telemetry: where traces, metrics and logs go. The standard OTEL_* variables
/// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
/// OTEL_TRACES_EXPORTER, ...) work too; these options win over them. With neither an endpoint
/// nor Console, the daemon sends nothing and its telemetry costs nothing.</summary>
public sealed class TelemetryOptions
{
    /// <summary>The OTLP receiver: http://HOST:4317 for gRPC, http://HOST:4318 for HTTP (the
    /// signal paths /v1/traces, /v1/metrics, /v1/logs are added). Default: OTEL_EXPORTER_OTLP_ENDPOINT.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>"grpc" or "http/protobuf". Default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc.</summary>
    public string? Protocol { get; set; }

    /// <summary>Also write every span, metric and log record to stdout: a debugging aid.</summary>
    public bool Console { get; set; }

    internal void Validate(List<string> failures)
    {
        if (!string.IsNullOrEmpty(OtlpEndpoint)
            && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            failures.Add($"--otlp-endpoint must be an http:// or https:// URL, not '{OtlpEndpoint}'");
        }
        if (!string.IsNullOrEmpty(Protocol) && Protocol is not ("grpc" or "http/protobuf"))
        {
            failures.Add($"--otlp-protocol must be grpc or http/protobuf, not '{Protocol}'");
        }
    }
}
