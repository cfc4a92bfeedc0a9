using OpenTelemetry.Exporter;
using Pvmd.Server.Hosting;

namespace Pvmd.Server.Telemetry;

/// <summary>Exporters of one signal.</summary>
[Flags]
public enum Exporters
{
    None = 0,
    Otlp = 1,
    Console = 2,
}

/// <summary>
/// Which exporters each signal gets, resolved once at start from the pvmd options and the
/// standard OTEL_* settings (read from the configuration, which holds the environment):
/// <list type="bullet">
/// <item>OTEL_SDK_DISABLED=true turns everything off.</item>
/// <item>OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER (otlp, console, none,
/// comma-separated) choose per signal; unset, a signal exports with OTLP when an endpoint is
/// configured (Pvmd:Telemetry:OtlpEndpoint, OTEL_EXPORTER_OTLP_ENDPOINT, or the signal's own
/// OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT).</item>
/// <item>Pvmd:Telemetry:Console adds the console exporter to every signal.</item>
/// </list>
/// </summary>
/// <param name="Endpoint">The pvmd option's endpoint; null leaves the exporter to the OTEL_* variables.</param>
public sealed record TelemetryPlan(Exporters Traces, Exporters Metrics, Exporters Logs, Uri? Endpoint, OtlpExportProtocol Protocol)
{
    public bool IsOff => (Traces | Metrics | Logs) == Exporters.None;

    /// <summary>Resolves the plan; <paramref name="errors"/> gets a sentence per bad setting.</summary>
    public static TelemetryPlan Resolve(IConfiguration configuration, TelemetryOptions options, List<string> errors)
    {
        var protocolText = NonEmpty(options.Protocol) ?? NonEmpty(configuration["OTEL_EXPORTER_OTLP_PROTOCOL"]) ?? "grpc";
        var protocol = protocolText switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => Fail(OtlpExportProtocol.Grpc, $"OTLP protocol must be grpc or http/protobuf, not '{protocolText}'"),
        };
        var endpoint = NonEmpty(options.OtlpEndpoint) is { } text && Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;
        if (string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return new TelemetryPlan(Exporters.None, Exporters.None, Exporters.None, endpoint, protocol);
        }
        var anyEndpoint = endpoint is not null || NonEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) is not null;
        return new TelemetryPlan(Signal("TRACES"), Signal("METRICS"), Signal("LOGS"), endpoint, protocol);

        Exporters Signal(string signal)
        {
            var console = options.Console ? Exporters.Console : Exporters.None;
            if (NonEmpty(configuration[$"OTEL_{signal}_EXPORTER"]) is not { } list)
            {
                var configured = anyEndpoint || NonEmpty(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]) is not null;
                return (configured ? Exporters.Otlp : Exporters.None) | console;
            }
            var chosen = console;
            foreach (var name in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                chosen |= name switch
                {
                    "otlp" => Exporters.Otlp,
                    "console" => Exporters.Console,
                    "none" => Exporters.None,
                    _ => Fail(Exporters.None, $"OTEL_{signal}_EXPORTER: unknown exporter '{name}' (otlp, console or none)"),
                };
            }
            return chosen;
        }

        T Fail<T>(T fallback, string error)
        {
            errors.Add(error);
            return fallback;
        }
    }

    /// <summary>One line for the start log: what goes where.</summary>
    public override string ToString()
    {
        if (IsOff)
        {
            return "off (no OTLP endpoint configured: set --otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)";
        }
        var target = Endpoint?.ToString() ?? "the OTEL_EXPORTER_OTLP_* endpoint";
        var protocol = Protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf";
        return $"traces {Describe(Traces)}, metrics {Describe(Metrics)}, logs {Describe(Logs)}; OTLP {protocol} to {target}";
    }

    private static string Describe(Exporters exporters) => exporters switch
    {
        Exporters.None => "off",
        Exporters.Otlp => "otlp",
        Exporters.Console => "console",
        _ => "otlp+console",
    };

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
