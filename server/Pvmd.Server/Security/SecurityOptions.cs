using System.Net;
using Microsoft.Extensions.Options;
using Pvmd.Server.Hosting;

namespace Pvmd.Server.Security;

/// <summary>Authentication, authorization, audit and concurrency options. Bound from the same
/// "Pvmd" section as <see cref="PvmdOptions"/> (environment PVMD_POLICY, command line --policy).</summary>
public sealed class SecurityOptions
{
    /// <summary>Server certificate (PEM) for TCP.</summary>
    public string? TlsCert { get; set; }

    /// <summary>Its private key (PEM).</summary>
    public string? TlsKey { get; set; }

    /// <summary>CA bundle (PEM) that signs the client certificates TCP callers must present.</summary>
    public string? TlsClientCa { get; set; }

    /// <summary>Plain TCP without TLS or authentication, loopback addresses only.</summary>
    public bool Insecure { get; set; }

    /// <summary>Policy file (YAML or JSON); none = the built-in default policy.</summary>
    public string? Policy { get; set; }

    /// <summary>Start with a policy file that has no rules (which denies everything).</summary>
    public bool AllowEmptyPolicy { get; set; }

    /// <summary>Append-only JSON lines audit log; empty disables it.</summary>
    public string AuditLog { get; set; } = "/var/lib/pvmd/audit.jsonl";

    /// <summary>Most calls in progress at once, in total.</summary>
    public int MaxConcurrentRequests { get; set; } = 256;

    /// <summary>Most calls in progress at once for one caller (one uid, one certificate subject).</summary>
    public int MaxConcurrentPerCaller { get; set; } = 64;

    public bool TcpUsesTls => !string.IsNullOrEmpty(TlsCert);

    /// <summary>The switches, for <see cref="CommandLine"/>; flags take no value.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--tls-cert"] = $"{PvmdOptions.Section}:{nameof(TlsCert)}",
        ["--tls-key"] = $"{PvmdOptions.Section}:{nameof(TlsKey)}",
        ["--tls-client-ca"] = $"{PvmdOptions.Section}:{nameof(TlsClientCa)}",
        ["--insecure"] = $"{PvmdOptions.Section}:{nameof(Insecure)}",
        ["--policy"] = $"{PvmdOptions.Section}:{nameof(Policy)}",
        ["--allow-empty-policy"] = $"{PvmdOptions.Section}:{nameof(AllowEmptyPolicy)}",
        ["--audit-log"] = $"{PvmdOptions.Section}:{nameof(AuditLog)}",
        ["--max-concurrent"] = $"{PvmdOptions.Section}:{nameof(MaxConcurrentRequests)}",
        ["--max-concurrent-per-caller"] = $"{PvmdOptions.Section}:{nameof(MaxConcurrentPerCaller)}",
    };

    /// <summary>Switches that stand alone (--insecure means --insecure=true).</summary>
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "--insecure", "--allow-empty-policy" };

    public const string Usage = """
                    [--tls-cert PEM --tls-key PEM --tls-client-ca PEM | --insecure]
                    [--policy FILE] [--allow-empty-policy] [--audit-log FILE]
                    [--max-concurrent N] [--max-concurrent-per-caller N]
        """;
}

/// <summary>Checks the security options against the listeners at start.</summary>
public static class SecurityOptionsValidator
{
    public static IReadOnlyList<string> Validate(SecurityOptions security, PvmdOptions daemon)
    {
        var failures = new List<string>();
        var tls = new[] { security.TlsCert, security.TlsKey, security.TlsClientCa };
        var tlsGiven = tls.Count(t => !string.IsNullOrEmpty(t));
        if (tlsGiven is > 0 and < 3)
        {
            failures.Add("TLS needs all of --tls-cert, --tls-key and --tls-client-ca (mutual TLS: TCP callers are identified by their client certificate)");
        }
        if (security.Insecure && tlsGiven > 0)
        {
            failures.Add("--insecure and --tls-* contradict each other: choose one");
        }
        if (!string.IsNullOrEmpty(daemon.Listen))
        {
            if (!security.Insecure && tlsGiven == 0)
            {
                failures.Add($"--listen {daemon.Listen} needs TLS: give --tls-cert, --tls-key and --tls-client-ca (or --insecure, loopback only)");
            }
            if (security.Insecure && PvmdOptionsValidator.TryParseEndpoint(daemon.Listen, out var host, out _) && !IsLoopback(host))
            {
                failures.Add($"--insecure is only allowed with a loopback --listen address (127.0.0.1, [::1], localhost), not '{host}'");
            }
        }
        else if (security.Insecure)
        {
            failures.Add("--insecure without --listen means nothing: it only applies to TCP");
        }
        if (security.MaxConcurrentRequests < 1)
        {
            failures.Add("--max-concurrent must be at least 1");
        }
        if (security.MaxConcurrentPerCaller < 1 || security.MaxConcurrentPerCaller > security.MaxConcurrentRequests)
        {
            failures.Add("--max-concurrent-per-caller must be between 1 and --max-concurrent");
        }
        if (!string.IsNullOrEmpty(security.AuditLog) && !Path.IsPathFullyQualified(security.AuditLog))
        {
            failures.Add($"--audit-log must be an absolute path, not '{security.AuditLog}'");
        }
        return failures;
    }

    public static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}
