using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Probing;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Cli.Commands;

/// <summary>'compare' across the nodes of a fleet: --nodes FILE names the daemons one per line
/// (for example one per Kubernetes node), and --by-arch adds a table with one column per
/// architecture, since a fleet's question is whether its amd64 and arm64 kernels agree.</summary>
internal sealed class CompareNodes
{
    public Option<FileInfo?> Nodes { get; } = new("--nodes")
    {
        Description = "A file naming daemons, one per line: a socket path (/...) or a URL (http://, https://). Blank lines and text after # are ignored. Adds to --socket/--address.",
        HelpName = "FILE",
    };

    public Option<bool> ByArch { get; } = new("--by-arch")
    {
        Description = "After the per-daemon table, one column per architecture: the class counts (min..max where its nodes disagree), the cases its nodes classify differently, and the cases the architectures classify differently. Text output only.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Nodes);
        command.Options.Add(ByArch);
    }

    /// <summary>The daemons the --nodes file names (none without --nodes).</summary>
    public IReadOnlyList<PvmdClientOptions> Read(ParseResult parseResult)
    {
        if (parseResult.GetValue(Nodes) is not { } file)
        {
            return [];
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--nodes: cannot read {file.FullName}: {e.Message}");
        }

        var nodes = Parse(lines, file.Name);
        return nodes.Count > 0 ? nodes : throw new UsageException($"--nodes: {file.FullName} names no daemon");
    }

    /// <summary>Parses a node list; errors name the file and line.</summary>
    public static IReadOnlyList<PvmdClientOptions> Parse(IReadOnlyList<string> lines, string source)
    {
        var nodes = new List<PvmdClientOptions>();
        for (var i = 0; i < lines.Count; i++)
        {
            var text = lines[i].Split('#', 2)[0].Trim();
            if (text.Length == 0)
            {
                continue;
            }

            if (text.StartsWith('/'))
            {
                nodes.Add(PvmdClientOptions.ForSocket(text));
            }
            else if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                nodes.Add(PvmdClientOptions.ForAddress(uri));
            }
            else
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"--nodes: {source}:{i + 1}: '{text}' is neither a socket path (/...) nor an http:// or https:// URL"));
            }
        }

        return nodes;
    }

    /// <summary>The per-architecture table: the daemons grouped by their host's arch.</summary>
    public static void WriteByArchitecture(TextWriter w, ProbeComparison comparison, int maxCases)
    {
        var groups = comparison.Daemons
            .Select((daemon, index) => (Daemon: daemon, Index: index))
            .GroupBy(d => d.Daemon.Summary.Host?.Arch is { Length: > 0 } arch ? arch : "?")
            .Select(g => (Arch: g.Key, Members: g.ToArray()))
            .ToArray();

        w.WriteLine();
        w.WriteLine("by architecture:");
        var table = new TextTable(["", .. groups.Select(g => g.Arch)]).AlignRight([.. Enumerable.Range(1, groups.Length)]);
        table.Add(["nodes", .. groups.Select(g => Num((ulong)g.Members.Length))]);
        table.Add(["kernels", .. groups.Select(g => string.Join(", ", g.Members.Select(m => m.Daemon.Summary.Host?.KernelRelease ?? "?").Distinct()))]);
        foreach (var cls in Names.Classes)
        {
            table.Add([Names.Of(cls), .. groups.Select(g => Range(g.Members.Select(m => ProbeVerdict.Count(m.Daemon.Summary, cls))))]);
        }

        table.Add(["total", .. groups.Select(g => Range(g.Members.Select(m => m.Daemon.Summary.Total)))]);
        // Nodes of one architecture can disagree too: different kernels (arm64 5.10 and 6.1).
        table.Add(["cases its nodes disagree on", .. groups.Select(g => Num((ulong)comparison.Differences.Count(d => Distinct(d.Classes, g.Members).Count() > 1)))]);
        table.WriteTo(w, "  ");

        if (groups.Length < 2)
        {
            return;
        }

        // A case differs between architectures when their nodes' classes (each architecture's
        // own, or "mixed" where its nodes disagree) are not all the same.
        var across = comparison.Differences
            .Select(d => (d.Key, PerArch: groups.Select(g => Distinct(d.Classes, g.Members).ToArray() is [var only] ? Show(only) : "mixed").ToArray()))
            .Where(d => d.PerArch.Distinct().Count() > 1)
            .ToList();
        w.WriteLine();
        if (across.Count == 0)
        {
            w.WriteLine("the architectures agree on every case");
            return;
        }

        var shown = Math.Min(maxCases, across.Count);
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{across.Count} cases differ between architectures; the first {shown}:"));
        var cases = new TextTable(["case", .. groups.Select(g => g.Arch)]);
        foreach (var (key, perArch) in across.Take(shown))
        {
            cases.Add([key.ToString(), .. perArch]);
        }

        cases.WriteTo(w, "  ");
    }

    private static IEnumerable<CaseClass?> Distinct(CaseClass?[] classes, (DaemonRun Daemon, int Index)[] members) =>
        members.Select(m => classes[m.Index]).Distinct();

    private static string Show(CaseClass? cls) => cls is { } c ? Names.Of(c) : "-";

    private static string Range(IEnumerable<ulong> values)
    {
        var list = values.ToList();
        return list.Min() == list.Max() ? Num(list.Min()) : $"{Num(list.Min())}..{Num(list.Max())}";
    }

    private static string Num(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
