extern alias server;

using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;
using server::Pvmd.Server.Hosting;
using server::Pvmd.Server.Telemetry;

namespace Pvmd.Tests.Telemetry;

/// <summary>How the pvmd options and the standard OTEL_* settings decide what is exported.</summary>
public sealed class TelemetryPlanTests
{
    [Fact]
    public void Nothing_configured_is_off()
    {
        var plan = Resolve([], new TelemetryOptions(), out var errors);

        Assert.True(plan.IsOff);
        Assert.Empty(errors);
    }

    [Fact]
    public void The_standard_endpoint_turns_every_signal_on_with_its_protocol()
    {
        var plan = Resolve(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318", ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" }, new TelemetryOptions(), out _);

        Assert.Equal((Exporters.Otlp, Exporters.Otlp, Exporters.Otlp), (plan.Traces, plan.Metrics, plan.Logs));
        Assert.Equal(OtlpExportProtocol.HttpProtobuf, plan.Protocol);
        Assert.Null(plan.Endpoint);
    }

    [Fact]
    public void The_pvmd_options_win_over_the_standard_variables()
    {
        var options = new TelemetryOptions { OtlpEndpoint = "http://127.0.0.1:4317", Protocol = "grpc" };

        var plan = Resolve(new() { ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" }, options, out _);

        Assert.Equal(OtlpExportProtocol.Grpc, plan.Protocol);
        Assert.Equal(new Uri("http://127.0.0.1:4317"), plan.Endpoint);
    }

    [Fact]
    public void A_signal_exporter_list_chooses_per_signal_and_console_adds_to_all()
    {
        var options = new TelemetryOptions { OtlpEndpoint = "http://127.0.0.1:4317", Console = true };

        var plan = Resolve(new() { ["OTEL_METRICS_EXPORTER"] = "none", ["OTEL_LOGS_EXPORTER"] = "console" }, options, out _);

        Assert.Equal(Exporters.Otlp | Exporters.Console, plan.Traces);
        Assert.Equal(Exporters.Console, plan.Metrics);
        Assert.Equal(Exporters.Console, plan.Logs);
    }

    [Fact]
    public void The_sdk_disabled_switch_turns_everything_off()
    {
        var plan = Resolve(new() { ["OTEL_SDK_DISABLED"] = "true", ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317" }, new TelemetryOptions { Console = true }, out _);

        Assert.True(plan.IsOff);
    }

    [Fact]
    public void Unknown_exporters_and_protocols_are_errors()
    {
        Resolve(new() { ["OTEL_TRACES_EXPORTER"] = "zipkin", ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json" }, new TelemetryOptions(), out var errors);

        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void Fault_injection_is_off_by_default_and_validated()
    {
        var failures = new List<string>();
        new FaultInjectionOptions { ExtraBytes = 8, Scope = "reads,everything" }.Validate(failures);

        Assert.Null(new FaultInjectionOptions().ToEngine());
        Assert.Single(failures);
        Assert.Equal(new Core.Memory.FaultInjection(8, Reads: true, Probe: true, ProbeEvery: 1000), new FaultInjectionOptions { ExtraBytes = 8, Scope = "reads, probe" }.ToEngine());
    }

    private static TelemetryPlan Resolve(Dictionary<string, string?> settings, TelemetryOptions options, out List<string> errors)
    {
        errors = [];
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return TelemetryPlan.Resolve(configuration, options, errors);
    }
}
