using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pvmd.Server.Security;

/// <summary>A policy file the daemon refuses; the message is one line: "FILE:LINE: why".</summary>
public sealed class PolicyException(string message) : Exception(message);

/// <summary>
/// Reads a policy file: YAML, or JSON (which the same parser reads; tabs, legal between JSON
/// tokens, are read as spaces). Every mistake is reported with its file and line, and unknown
/// keys are mistakes, so a typo never silently widens or narrows what the policy grants.
/// </summary>
public static class PolicyParser
{
    public const string DefaultSource = "the built-in default policy";

    /// <summary>The policy in force when no --policy is given.</summary>
    public const string DefaultPolicyText = """
        # Root may do everything (but write to pid 1 or touch the daemon: see "protected targets").
        # Anyone else on the Unix socket may look at the processes it could inspect itself.
        # Writes need a policy file that grants them. TCP callers get nothing.
        rules:
          - name: root
            callers: [{ uid: 0, transport: unix }]
            targets: [any]
            operations: [all]
          - name: own-processes
            callers: [{ transport: unix }]
            targets: [{ uid: caller }]
            operations: [read, regions, processes, platform]
        """;

    private static readonly string[] s_ruleKeys = ["name", "effect", "callers", "targets", "operations"];
    private static readonly string[] s_callerKeys = ["uid", "gid", "subject", "transport"];
    private static readonly string[] s_targetKeys = ["pid", "daemon", "uid", "exe", "comm", "cgroup", "container"];

    public static Policy Default { get; } = Parse(DefaultPolicyText, DefaultSource);

    /// <summary>Reads and parses a policy file.</summary>
    /// <exception cref="PolicyException">The file is unreadable or invalid.</exception>
    public static Policy Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException($"{path}: cannot read the policy: {e.Message}");
        }
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            text = text.Replace('\t', ' ');
        }
        return Parse(text, path);
    }

    /// <summary>Parses policy text; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="PolicyException">The text is not a valid policy.</exception>
    public static Policy Parse(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new PolicyException($"{source}:{e.Start.Line}: not valid YAML or JSON: {FirstLine(e.InnerException?.Message ?? e.Message)}");
        }
        catch (ArgumentException e)
        {
            throw new PolicyException($"{source}: {FirstLine(e.Message)}");
        }
        if (stream.Documents.Count > 1)
        {
            throw new PolicyException($"{source}:{stream.Documents[1].RootNode.Start.Line}: a policy is one document");
        }
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return new Policy([], source);
        }
        var context = new Context(source);
        var root = context.Mapping(stream.Documents[0].RootNode, "the policy");
        context.OnlyKeys(root, ["version", "rules"], "the policy");
        if (context.Find(root, "version") is { } version && context.Integer(version, "version") != 1)
        {
            throw context.Error(version, "version must be 1");
        }
        var rules = new List<Rule>();
        if (context.Find(root, "rules") is { } rulesNode && !IsNull(rulesNode))
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var node in context.Sequence(rulesNode, "rules"))
            {
                var rule = ParseRule(context, node, rules.Count + 1);
                if (!names.Add(rule.Name))
                {
                    throw context.Error(node, $"two rules are named '{rule.Name}'");
                }
                rules.Add(rule);
            }
        }
        return new Policy(rules, source);
    }

    private static Rule ParseRule(Context context, YamlNode node, int index)
    {
        var mapping = context.Mapping(node, $"rule {index}");
        context.OnlyKeys(mapping, s_ruleKeys, $"rule {index}");
        var name = context.Find(mapping, "name") is { } nameNode ? context.Text(nameNode, "name") : $"#{index}";
        var what = $"rule '{name}'";
        var effect = Effect.Allow;
        if (context.Find(mapping, "effect") is { } effectNode)
        {
            effect = context.Text(effectNode, "effect") switch
            {
                "allow" => Effect.Allow,
                "deny" => Effect.Deny,
                var other => throw context.Error(effectNode, $"{what}: effect must be allow or deny, not '{other}'"),
            };
        }
        var callersNode = context.Find(mapping, "callers") ?? throw context.Error(node, $"{what} has no callers (use [any] for every caller)");
        var callers = context.Sequence(callersNode, $"{what} callers").Select(c => ParseCaller(context, c, what)).ToList();
        if (callers.Count == 0)
        {
            throw context.Error(callersNode, $"{what}: callers is empty, so the rule could never match");
        }
        var targets = new List<TargetSelector>();
        if (context.Find(mapping, "targets") is { } targetsNode)
        {
            targets.AddRange(context.Sequence(targetsNode, $"{what} targets").Select(t => ParseTarget(context, t, what)));
        }
        var operationsNode = context.Find(mapping, "operations") ?? throw context.Error(node, $"{what} has no operations");
        var operations = Operation.None;
        var operationNodes = operationsNode is YamlScalarNode ? [operationsNode] : context.Sequence(operationsNode, $"{what} operations");
        foreach (var operationNode in operationNodes)
        {
            var text = context.Text(operationNode, "operation");
            if (!Operations.TryParse(text, out var operation))
            {
                throw context.Error(operationNode, $"{what}: unknown operation '{text}' (known: {string.Join(", ", Operations.Names)})");
            }
            operations |= operation;
        }
        if (operations == Operation.None)
        {
            throw context.Error(operationsNode, $"{what}: operations is empty");
        }
        return new Rule(index, name, effect, callers, targets, operations, (int)node.Start.Line);
    }

    private static CallerSelector ParseCaller(Context context, YamlNode node, string what)
    {
        var line = (int)node.Start.Line;
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value == "any"
                ? new CallerSelector(line, Any: true)
                : throw context.Error(node, $"{what}: a caller is 'any' or a mapping of {string.Join(", ", s_callerKeys)}, not '{scalar.Value}'");
        }
        var mapping = context.Mapping(node, $"{what} caller");
        context.OnlyKeys(mapping, s_callerKeys, $"{what} caller");
        if (mapping.Children.Count == 0)
        {
            throw context.Error(node, $"{what}: an empty caller would match everyone; write 'any' if that is meant");
        }
        CallerTransport? transport = null;
        if (context.Find(mapping, "transport") is { } transportNode)
        {
            transport = context.Text(transportNode, "transport") switch
            {
                "unix" => CallerTransport.UnixSocket,
                "tls" => CallerTransport.Tls,
                "insecure" => CallerTransport.InsecureTcp,
                var other => throw context.Error(transportNode, $"{what}: transport must be unix, tls or insecure, not '{other}'"),
            };
        }
        return new CallerSelector(
            line,
            Uid: context.Find(mapping, "uid") is { } uid ? context.Id(uid, "uid") : null,
            Gid: context.Find(mapping, "gid") is { } gid ? context.Id(gid, "gid") : null,
            Subject: context.Find(mapping, "subject") is { } subject ? context.Text(subject, "subject") : null,
            Transport: transport);
    }

    private static TargetSelector ParseTarget(Context context, YamlNode node, string what)
    {
        var line = (int)node.Start.Line;
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value == "any"
                ? new TargetSelector(line, Any: true)
                : throw context.Error(node, $"{what}: a target is 'any' or a mapping of {string.Join(", ", s_targetKeys)}, not '{scalar.Value}'");
        }
        var mapping = context.Mapping(node, $"{what} target");
        context.OnlyKeys(mapping, s_targetKeys, $"{what} target");
        if (mapping.Children.Count == 0)
        {
            throw context.Error(node, $"{what}: an empty target would match every process; write 'any' if that is meant");
        }
        uint? uid = null;
        var uidIsCaller = false;
        if (context.Find(mapping, "uid") is { } uidNode)
        {
            if (uidNode is YamlScalarNode { Value: "caller" })
            {
                uidIsCaller = true;
            }
            else
            {
                uid = context.Id(uidNode, "uid");
            }
        }
        int? pid = null;
        if (context.Find(mapping, "pid") is { } pidNode)
        {
            var value = context.Integer(pidNode, "pid");
            pid = value is >= 1 and <= int.MaxValue ? (int)value : throw context.Error(pidNode, $"{what}: pid must be positive");
        }
        var daemon = false;
        if (context.Find(mapping, "daemon") is { } daemonNode)
        {
            daemon = context.Text(daemonNode, "daemon") switch
            {
                "true" => true,
                "false" => false,
                var other => throw context.Error(daemonNode, $"{what}: daemon must be true or false, not '{other}'"),
            };
        }
        string? container = null;
        if (context.Find(mapping, "container") is { } containerNode)
        {
            container = context.Text(containerNode, "container");
            if (container != "*" && (container.Length is < 12 or > 64 || !container.All(char.IsAsciiHexDigitLower)))
            {
                throw context.Error(containerNode, $"{what}: container must be '*' or 12 to 64 lowercase hex digits of a container id, not '{container}'");
            }
        }
        return new TargetSelector(
            line,
            Pid: pid,
            Daemon: daemon,
            Uid: uid,
            UidIsCaller: uidIsCaller,
            Exe: context.Find(mapping, "exe") is { } exe ? context.Text(exe, "exe") : null,
            Comm: context.Find(mapping, "comm") is { } comm ? context.Text(comm, "comm") : null,
            Cgroup: context.Find(mapping, "cgroup") is { } cgroup ? context.Text(cgroup, "cgroup") : null,
            Container: container);
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    /// <summary>Node accessors that fail with the source and line.</summary>
    private sealed class Context(string source)
    {
        public PolicyException Error(YamlNode node, string message) => new($"{source}:{(int)node.Start.Line}: {message}");

        public YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value)");

        public IReadOnlyList<YamlNode> Sequence(YamlNode node, string what) =>
            node is YamlSequenceNode sequence ? sequence.Children.ToList() : throw Error(node, $"{what} must be a list");

        public string Text(YamlNode node, string what) =>
            node is YamlScalarNode { Value: { } value } && !IsNull(node) ? value : throw Error(node, $"{what} must be a single value");

        public long Integer(YamlNode node, string what) =>
            long.TryParse(Text(node, what), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw Error(node, $"{what} must be a non-negative integer, not '{Text(node, what)}'");

        public uint Id(YamlNode node, string what)
        {
            var value = Integer(node, what);
            return value is >= 0 and < uint.MaxValue ? (uint)value : throw Error(node, $"{what} {value} is out of range");
        }

        public YamlNode? Find(YamlMappingNode mapping, string key) =>
            mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        public void OnlyKeys(YamlMappingNode mapping, string[] allowed, string what)
        {
            foreach (var key in mapping.Children.Keys)
            {
                var name = key is YamlScalarNode { Value: { } text } ? text : "?";
                if (!allowed.Contains(name))
                {
                    throw Error(key, $"{what}: unknown key '{name}' (known: {string.Join(", ", allowed)})");
                }
            }
        }
    }
}
