using Pvmd.Core.Host;

namespace Pvmd.Server.Telemetry;

/// <summary>The host's static facts as Resource attributes: said once per export, not on
/// every span. Semantic-convention names where they exist.</summary>
public static class ResourceFacts
{
    public const string DefaultServiceName = "pvmd";

    public static IEnumerable<KeyValuePair<string, object>> Attributes(HostFacts facts)
    {
        yield return new("host.name", facts.Hostname);
        yield return new(TelemetryNames.HostArch, SemanticArch(facts.Arch));
        yield return new("host.cpu.model.name", facts.CpuModel);
        yield return new("os.type", "linux");
        yield return new(TelemetryNames.OsVersion, facts.KernelRelease);
        // uname's own word: host.arch folds ppc64le and ppc64 (and the arm variants) together.
        yield return new(TelemetryNames.Machine, facts.Arch);
        yield return new(TelemetryNames.PageSize, facts.PageSize);
        if (!string.IsNullOrEmpty(facts.Emulation))
        {
            yield return new(TelemetryNames.Emulation, facts.Emulation);
        }
    }

    /// <summary>uname's machine as the semantic conventions' host.arch value (amd64, arm64, ...);
    /// a machine they do not name is passed through.</summary>
    public static string SemanticArch(string machine) => machine switch
    {
        "x86_64" => "amd64",
        "aarch64" or "arm64" => "arm64",
        "i386" or "i486" or "i586" or "i686" => "x86",
        "ppc64" or "ppc64le" => "ppc64",
        "ppc" or "ppcle" => "ppc32",
        "s390x" => "s390x",
        "ia64" => "ia64",
        _ when machine.StartsWith("arm", StringComparison.Ordinal) => "arm32",
        _ => machine,
    };
}
