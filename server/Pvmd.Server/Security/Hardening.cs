using Pvmd.Core.Host;
using Pvmd.Server.Hosting;

namespace Pvmd.Server.Security;

/// <summary>
/// What the running daemon keeps of its privileges: CAP_SYS_PTRACE, and CAP_NET_BIND_SERVICE
/// only when it listens on a TCP port below 1024. Nothing else is needed: the socket, the audit
/// log and the policy live in root-owned directories, and /proc of other users' processes opens
/// with CAP_SYS_PTRACE. The drop happens before anything is bound, by re-executing the daemon
/// (see <see cref="Capabilities"/>: capability sets are per thread), so every thread of the
/// serving daemon holds the same minimal set, with no_new_privs and the bounding set reduced.
/// </summary>
public static class Hardening
{
    public static ulong NeededCapabilities(PvmdOptions options)
    {
        var keep = Capabilities.Mask(Capabilities.SysPtrace);
        if (!string.IsNullOrEmpty(options.Listen) && PvmdOptionsValidator.TryParseEndpoint(options.Listen, out _, out var port) && port < 1024)
        {
            keep |= Capabilities.Mask(Capabilities.NetBindService);
        }
        return keep;
    }

    /// <summary>Drops every other capability; does not return when it re-executes the daemon.
    /// Returns an error sentence when it cannot drop them.</summary>
    public static string? RestrictCapabilities(PvmdOptions options)
    {
        var outcome = Capabilities.RestrictTo(NeededCapabilities(options), out var error);
        return outcome == RestrictOutcome.Failed ? error : null;
    }

    /// <summary>After the listeners are up: marks the daemon undumpable (no core file holding
    /// other processes' memory or the TLS key), checks that no thread holds more than the
    /// process, and describes the result for the start line.</summary>
    public static string AfterStart(ILogger logger)
    {
        Capabilities.SetDumpable(false);
        var own = Capabilities.Read();
        foreach (var (thread, effective) in Capabilities.ThreadEffectiveSets())
        {
            if ((effective & ~own.Effective) != 0)
            {
                SecurityLog.ThreadCapabilities(logger, thread, Capabilities.Describe(effective & ~own.Effective));
            }
        }
        var noNewPrivs = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("NoNewPrivs:", StringComparison.Ordinal))?.Split(':')[1].Trim() == "1";
        return $"capabilities {Capabilities.Describe(own.Effective)} (bounding {Capabilities.Describe(own.Bounding)}{(noNewPrivs ? ", no_new_privs" : "")}{(Capabilities.IsDumpable() ? "" : ", not dumpable")})";
    }

    /// <summary>Yama's ptrace_scope with what it means.</summary>
    public static string DescribeYama(int scope) => scope switch
    {
        < 0 => "Yama absent",
        0 => "Yama ptrace_scope 0 (classic)",
        1 => "Yama ptrace_scope 1 (restricted: descendants only, unless CAP_SYS_PTRACE)",
        2 => "Yama ptrace_scope 2 (admin-only: CAP_SYS_PTRACE required)",
        _ => $"Yama ptrace_scope {scope} (no attach: nothing can be read)",
    };
}
