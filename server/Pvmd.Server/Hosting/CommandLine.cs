namespace Pvmd.Server.Hosting;

/// <summary>The daemon's command-line switches, mapped onto option keys. Anything else on the
/// command line is refused, so a typo never silently leaves a default in force.</summary>
public static class CommandLine
{
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--socket"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.Socket)}",
        ["--socket-mode"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.SocketMode)}",
        ["--listen"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.Listen)}",
        ["--max-ranges"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.MaxRangesPerRequest)}",
        ["--max-bytes"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.MaxBytesPerRequest)}",
        ["--max-write-bytes"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.MaxWriteBytes)}",
        ["--chunk-bytes"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.ChunkBytes)}",
        ["--local-path"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.LocalPath)}",
        ["--local-path-slot-bytes"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.LocalPathSlotBytes)}",
        ["--otlp-endpoint"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.Telemetry)}:{nameof(TelemetryOptions.OtlpEndpoint)}",
        ["--otlp-protocol"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.Telemetry)}:{nameof(TelemetryOptions.Protocol)}",
        ["--telemetry-console"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.Telemetry)}:{nameof(TelemetryOptions.Console)}",
        ["--inject-extra-bytes"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.FaultInjection)}:{nameof(FaultInjectionOptions.ExtraBytes)}",
        ["--inject-scope"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.FaultInjection)}:{nameof(FaultInjectionOptions.Scope)}",
        ["--inject-probe-every"] = $"{PvmdOptions.Section}:{nameof(PvmdOptions.FaultInjection)}:{nameof(FaultInjectionOptions.ProbeEvery)}",
    }.Concat(Security.SecurityOptions.Switches).ToDictionary();

    public const string Usage = """
        usage: pvmd [--socket PATH] [--listen HOST:PORT] [--socket-mode OCTAL]
                    [--max-ranges N] [--max-bytes N] [--max-write-bytes N] [--chunk-bytes N]
                    [--local-path true|false] [--local-path-slot-bytes N]
                    [--otlp-endpoint URL] [--otlp-protocol grpc|http/protobuf] [--telemetry-console true]
                    [--inject-extra-bytes N] [--inject-scope reads|probe|reads,probe] [--inject-probe-every N]
        Telemetry also follows the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT, ...).
        --inject-extra-bytes is a test aid: it fakes mismatches, each labelled injected.
               pvmd --health-check [--socket PATH]   (exit 0 when the daemon answers SERVING)
        """ + Security.SecurityOptions.Usage + """
        Every option can also be set as PVMD_<NAME> (PVMD_SOCKET) or Pvmd__<Name> in the
        environment, or in appsettings.json under "Pvmd".
        """;

    /// <summary>Returns an error sentence for the first argument that is not a known switch
    /// followed by a value, or null when all are fine.</summary>
    public static string? FindError(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (!Switches.ContainsKey(name))
            {
                return $"unknown argument '{args[i]}'";
            }
            if (Security.SecurityOptions.Flags.Contains(name))
            {
                continue;
            }
            if (!args[i].Contains('=') && (++i >= args.Length || args[i].StartsWith("--", StringComparison.Ordinal)))
            {
                return $"{name} needs a value";
            }
        }
        return null;
    }

    /// <summary>Gives each flag (--insecure) its value (--insecure=true), as the configuration
    /// binder expects; run after <see cref="FindError"/>.</summary>
    public static string[] Normalize(string[] args) =>
        [.. args.Select(a => Security.SecurityOptions.Flags.Contains(a) ? $"{a}=true" : a)];
}
