using System.IO.Enumeration;

namespace Pvmd.Server.Security;

/// <summary>What a call does, as the policy names it. A rule grants a set of them.</summary>
[Flags]
public enum Operation
{
    None = 0,
    /// <summary>ReadRemote.</summary>
    Read = 1,
    /// <summary>ListRegions.</summary>
    Regions = 2,
    /// <summary>ListProcesses (each listed process is a target).</summary>
    Processes = 4,
    /// <summary>GetPlatform (no target).</summary>
    Platform = 8,
    /// <summary>ProbeShortBuffer: of the daemon's scratch child (no target), or of a target,
    /// into which it writes test patterns.</summary>
    Probe = 16,
    /// <summary>WriteRemote with process_vm_writev (honours page protection).</summary>
    Write = 32,
    /// <summary>WriteRemote with force: through /proc/PID/mem, past page protection.</summary>
    ForceWrite = 64,
    All = Read | Regions | Processes | Platform | Probe | Write | ForceWrite,
}

/// <summary>The policy's names for operations.</summary>
public static class Operations
{
    private static readonly (string Name, Operation Operation)[] s_names =
    [
        ("read", Operation.Read), ("regions", Operation.Regions), ("processes", Operation.Processes),
        ("platform", Operation.Platform), ("probe", Operation.Probe), ("write", Operation.Write),
        ("force-write", Operation.ForceWrite), ("all", Operation.All),
    ];

    public static IEnumerable<string> Names => s_names.Select(n => n.Name);

    public static bool TryParse(string name, out Operation operation)
    {
        foreach (var (text, value) in s_names)
        {
            if (text == name)
            {
                operation = value;
                return true;
            }
        }
        operation = Operation.None;
        return false;
    }

    public static string Name(Operation operation) => s_names.FirstOrDefault(n => n.Operation == operation).Name ?? operation.ToString();

    /// <summary>Operations that change the target: audited, and never allowed on the daemon
    /// or pid 1 unless a rule names them.</summary>
    public static bool Changes(Operation operation) => (operation & (Operation.Write | Operation.ForceWrite | Operation.Probe)) != 0;
}

public enum Effect
{
    Allow,
    Deny,
}

/// <summary>Who a rule is about. Every field given must match (AND); a rule's list of
/// selectors matches when any one does (OR). <see cref="Any"/> matches every caller,
/// including insecure TCP ones.</summary>
public sealed record CallerSelector(int Line, bool Any = false, uint? Uid = null, uint? Gid = null, string? Subject = null, CallerTransport? Transport = null)
{
    public bool Matches(Caller caller)
    {
        if (Any)
        {
            return true;
        }
        return (Uid is null || caller.Uid == Uid)
            && (Gid is null || caller.Gid == Gid)
            && (Subject is null || (caller.Subject is not null && FileSystemName.MatchesSimpleExpression(Subject, caller.Subject, ignoreCase: false)))
            && (Transport is null || caller.Transport == Transport);
    }
}

/// <summary>Which processes a rule is about. Every field given must match (AND); a rule's
/// list of selectors matches when any one does (OR).</summary>
/// <param name="Pid">This pid exactly: the only way besides <paramref name="Daemon"/> to name a
/// protected target (pid 1 for changes, the daemon for anything).</param>
/// <param name="Daemon">The daemon's own process.</param>
/// <param name="Uid">Real, effective, saved and filesystem uids all equal to it.</param>
/// <param name="UidIsCaller">"uid: caller": processes the caller could inspect itself without
/// privilege, by the kernel's own rules (same uids and gids, dumpable, no capabilities, and
/// Yama's restrictions).</param>
public sealed record TargetSelector(
    int Line,
    bool Any = false,
    int? Pid = null,
    bool Daemon = false,
    uint? Uid = null,
    bool UidIsCaller = false,
    string? Exe = null,
    string? Comm = null,
    string? Cgroup = null,
    string? Container = null)
{
    /// <summary>Whether the selector names the target explicitly (by pid, or as the daemon).</summary>
    public bool Names(TargetFacts target) => Pid == target.Pid || (Daemon && target.IsDaemon);

    public bool Matches(TargetFacts target, Caller caller)
    {
        if (Any)
        {
            return true;
        }
        if (Pid is not null && Pid != target.Pid)
        {
            return false;
        }
        if (Daemon && !target.IsDaemon)
        {
            return false;
        }
        if (Comm is not null && !FileSystemName.MatchesSimpleExpression(Comm, target.Command, ignoreCase: false))
        {
            return false;
        }
        if (Uid is not null && !target.AllUidsAre(Uid.Value))
        {
            return false;
        }
        if (UidIsCaller && !target.CallerCouldTraceItself(caller))
        {
            return false;
        }
        if (Exe is not null && !FileSystemName.MatchesSimpleExpression(Exe, target.Executable, ignoreCase: false))
        {
            return false;
        }
        if (Cgroup is not null && !FileSystemName.MatchesSimpleExpression(Cgroup, target.Cgroup, ignoreCase: false))
        {
            return false;
        }
        if (Container is not null && !MatchesContainer(target.ContainerId))
        {
            return false;
        }
        return true;
    }

    /// <summary>"*" = in any container; otherwise the id or a prefix of at least 12 digits
    /// (what docker ps shows).</summary>
    private bool MatchesContainer(string id) =>
        id.Length > 0 && (Container == "*" || id.StartsWith(Container!, StringComparison.Ordinal));
}

/// <summary>One rule: callers, targets, operations and an effect.</summary>
/// <param name="Index">1-based position in the policy: rules are tried in order.</param>
/// <param name="Targets">Empty: the rule applies only to operations without a target
/// (platform, a probe of the scratch child).</param>
public sealed record Rule(int Index, string Name, Effect Effect, IReadOnlyList<CallerSelector> Callers, IReadOnlyList<TargetSelector> Targets, Operation Operations, int Line);

/// <summary>The answer to "may this caller do this to this target", with the rule that decided.</summary>
public sealed record Decision(bool Allowed, string RuleName, int RuleIndex, string Explanation);

/// <summary>
/// A loaded policy. Rules are tried in order and the first that matches the caller, the
/// operation and the target decides; when none does, the call is denied ("no-rule"). The
/// daemon itself (for every operation but listing) and pid 1 (for writes and probes) are protected: an
/// allow rule reaches them only through a target selector that names them (pid: 1,
/// daemon: true), never through "any" or a uid.
/// </summary>
public sealed class Policy(IReadOnlyList<Rule> rules, string source)
{
    public const string NoRule = "no-rule";
    public const string ProtectedTarget = "protected-target";

    public IReadOnlyList<Rule> Rules { get; } = rules;

    /// <summary>Where the rules came from: the file, or "the built-in default policy".</summary>
    public string Source { get; } = source;

    public bool IsEmpty => Rules.Count == 0;

    /// <summary>Decides one call. <paramref name="target"/> is null for operations without one.</summary>
    public Decision Decide(Caller caller, Operation operation, TargetFacts? target)
    {
        Rule? blockedByProtection = null;
        foreach (var rule in Rules)
        {
            if ((rule.Operations & operation) == 0 || !rule.Callers.Any(c => c.Matches(caller)))
            {
                continue;
            }
            if (target is null)
            {
                return Verdict(rule, rule.Effect == Effect.Allow, "");
            }
            // Listing the daemon reveals nothing /proc does not; every other access is protected.
            var isProtected = (target.IsDaemon && operation != Operation.Processes) || (target.Pid == 1 && Operations.Changes(operation));
            foreach (var selector in rule.Targets)
            {
                if (!selector.Matches(target, caller))
                {
                    continue;
                }
                if (rule.Effect == Effect.Deny)
                {
                    return Verdict(rule, false, "");
                }
                if (isProtected && !selector.Names(target))
                {
                    blockedByProtection ??= rule;
                    continue;
                }
                return Verdict(rule, true, "");
            }
        }
        if (blockedByProtection is not null)
        {
            var what = target!.IsDaemon ? "the daemon itself" : "pid 1";
            return new Decision(false, ProtectedTarget, 0,
                $"{what} is protected: rule '{blockedByProtection.Name}' would allow {Operations.Name(operation)}, but only a rule whose target names it ({(target.IsDaemon ? "daemon: true" : "pid: 1")}) may");
        }
        return new Decision(false, NoRule, 0, $"no rule of {Source} allows it");
    }

    /// <summary>Whether some allow rule grants the operation to the caller for some target:
    /// a listing is refused outright when none does, and filtered target by target otherwise.</summary>
    public bool MayAllowSome(Caller caller, Operation operation) =>
        Rules.Any(r => r.Effect == Effect.Allow && (r.Operations & operation) != 0 && r.Callers.Any(c => c.Matches(caller)));

    private Decision Verdict(Rule rule, bool allowed, string detail) =>
        new(allowed, rule.Name, rule.Index, $"rule '{rule.Name}' (#{rule.Index}, {Source} line {rule.Line}) {(allowed ? "allows" : "denies")} it{detail}");
}
