using Pvmd.Core.Memory;

namespace Pvmd.Server.Hosting;

/// <summary>Pvmd:FaultInjection: makes the "kernel" write ExtraBytes bytes past the count it
/// returns, so the mismatch reporting can be seen end to end on a host whose kernel is exact.
/// Off unless ExtraBytes is set; when on, the daemon says so at start, and every span, event,
/// log line and response field it touches is labelled injected.</summary>
public sealed class FaultInjectionOptions
{
    public const int MaxExtraBytes = 4096;

    /// <summary>Bytes written past the returned count; 0 (the default) turns injection off.</summary>
    public int ExtraBytes { get; set; }

    /// <summary>Where it applies: "reads" (verified reads whose batch stops short), "probe"
    /// (the short-buffer probe's cases), or both, comma-separated.</summary>
    public string Scope { get; set; } = "reads";

    /// <summary>In the probe, every this-many-th case of a sweep is injected (1 = all); a
    /// default sweep of 264,192 cases then shows 265 injected ones among the real results.</summary>
    public int ProbeEvery { get; set; } = 1000;

    private string[] ScopeParts => Scope.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The engine's setting, or null when injection is off.</summary>
    public FaultInjection? ToEngine() =>
        ExtraBytes == 0 ? null : new FaultInjection(ExtraBytes, ScopeParts.Contains("reads"), ScopeParts.Contains("probe"), ProbeEvery);

    internal void Validate(List<string> failures)
    {
        if (ExtraBytes is < 0 or > MaxExtraBytes)
        {
            failures.Add($"--inject-extra-bytes must be between 0 and {MaxExtraBytes}");
        }
        if (ProbeEvery < 1)
        {
            failures.Add("--inject-probe-every must be at least 1");
        }
        if (ScopeParts.Length == 0 || ScopeParts.Any(p => p is not ("reads" or "probe")))
        {
            failures.Add($"--inject-scope must be reads, probe or reads,probe, not '{Scope}'");
        }
    }
}
