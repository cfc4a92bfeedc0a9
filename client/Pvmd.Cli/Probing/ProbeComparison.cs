using System.Globalization;
using System.Text.Json;
using Pvmd.Cli.Formatting;
using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>One daemon's finished probe, with the label its column carries.</summary>
internal sealed record DaemonRun(string Endpoint, string Label, ProbeRun Run)
{
    public ProbeSummary Summary => Run.RequireSummary();
}

/// <summary>The same sweep run on several daemons, side by side: the class counts, and every
/// case some daemons classify differently.</summary>
/// <remarks>Without --include-exact the daemons stream only non-EXACT cases, so a case one
/// daemon streamed and another did not was EXACT on the other; that holds when both ran the
/// same sweep, which <see cref="TotalsDiffer"/> tells.</remarks>
internal sealed class ProbeComparison
{
    private ProbeComparison(IReadOnlyList<DaemonRun> daemons, IReadOnlyList<(CaseKey Key, CaseClass?[] Classes)> differences)
    {
        Daemons = daemons;
        Differences = differences;
        TotalsDiffer = daemons.Select(d => d.Summary.Total).Distinct().Count() > 1;
        CountsDiffer = Names.Classes.Any(cls => daemons.Select(d => ProbeVerdict.Count(d.Summary, cls)).Distinct().Count() > 1);
    }

    public IReadOnlyList<DaemonRun> Daemons { get; }

    /// <summary>The differing cases in case order; a null class means the daemon did not
    /// report the case (only with --include-exact, when silence is not EXACT).</summary>
    public IReadOnlyList<(CaseKey Key, CaseClass?[] Classes)> Differences { get; }

    public bool TotalsDiffer { get; }

    public bool CountsDiffer { get; }

    public bool Differ => CountsDiffer || TotalsDiffer || Differences.Count > 0;

    /// <summary>Compares finished runs.</summary>
    /// <param name="daemons">The runs, with unique labels (see <see cref="UniqueLabels"/>).</param>
    /// <param name="exactStreamed">The daemons streamed EXACT cases too (--include-exact).</param>
    public static ProbeComparison Compare(IReadOnlyList<DaemonRun> daemons, bool exactStreamed)
    {
        var keys = new SortedSet<CaseKey>(daemons.SelectMany(d => d.Run.Cases.Keys));
        var differences = new List<(CaseKey, CaseClass?[])>();
        foreach (var key in keys)
        {
            var classes = daemons
                .Select(d => d.Run.Cases.TryGetValue(key, out var cls) ? cls : exactStreamed ? (CaseClass?)null : CaseClass.Exact)
                .ToArray();
            if (classes.Distinct().Count() > 1)
            {
                differences.Add((key, classes));
            }
        }

        return new ProbeComparison(daemons, differences);
    }

    /// <summary>Makes labels unique by numbering repeats ("x86_64 6.1.0 #2").</summary>
    public static IReadOnlyList<string> UniqueLabels(IReadOnlyList<string> labels)
    {
        var result = new string[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            var repeats = labels.Take(i).Count(l => l == labels[i]);
            result[i] = labels.Count(l => l == labels[i]) > 1
                ? string.Create(CultureInfo.InvariantCulture, $"{labels[i]} #{repeats + 1}")
                : labels[i];
        }

        return result;
    }

    public void WriteText(TextWriter w, ProbeRequest request, int maxCases)
    {
        w.WriteLine("sweep: " + ProbeReport.SweepLine(request));
        for (var i = 0; i < Daemons.Count; i++)
        {
            var d = Daemons[i];
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{d.Label}] {d.Endpoint}: {ProbeReport.HostLine(d.Summary.Host)}"));
        }

        w.WriteLine();
        var counts = new TextTable(["class", .. Daemons.Select(d => d.Label)]).AlignRight([.. Enumerable.Range(1, Daemons.Count)]);
        foreach (var cls in Names.Classes)
        {
            counts.Add([Names.Of(cls), .. Daemons.Select(d => Num(ProbeVerdict.Count(d.Summary, cls)))]);
        }

        counts.Add(["total", .. Daemons.Select(d => Num(d.Summary.Total))]);
        counts.Add(["seconds", .. Daemons.Select(d => d.Summary.ElapsedSeconds.ToString("0.###", CultureInfo.InvariantCulture))]);
        counts.WriteTo(w);

        if (TotalsDiffer)
        {
            w.WriteLine();
            w.WriteLine("note: the daemons ran sweeps of different sizes; cases only some of them ran are not compared one by one");
        }

        if (Differences.Count > 0)
        {
            w.WriteLine();
            var shown = Math.Min(maxCases, Differences.Count);
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Differences.Count} cases differ; the first {shown}:"));
            var cases = new TextTable(["case", .. Daemons.Select(d => d.Label)]);
            foreach (var (key, classes) in Differences.Take(shown))
            {
                cases.Add([key.ToString(), .. classes.Select(c => c is { } cls ? Names.Of(cls) : "-")]);
            }

            cases.WriteTo(w, "  ");
        }

        w.WriteLine();
        w.WriteLine(Differ ? "verdict  the daemons DIFFER" : "verdict  the daemons agree on every case");
    }

    /// <summary>{daemons: [{endpoint, label, host, total, elapsedSeconds, summary: {CLASS: n}}],
    /// totalsDiffer, countsDiffer, differingCases, differences: [{case, op, layout, layoutName,
    /// before, after, misalignment, classes: [CLASS or null, one per daemon]}], differ}</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("daemons");
        foreach (var d in Daemons)
        {
            w.WriteStartObject();
            w.WriteString("endpoint", d.Endpoint);
            w.WriteString("label", d.Label);
            w.WritePropertyName("host");
            JsonOutput.WritePlatform(w, d.Summary.Host);
            w.WriteNumber("total", d.Summary.Total);
            w.WriteNumber("elapsedSeconds", d.Summary.ElapsedSeconds);
            w.WritePropertyName("summary");
            JsonOutput.WriteClassCounts(w, d.Summary);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean("totalsDiffer", TotalsDiffer);
        w.WriteBoolean("countsDiffer", CountsDiffer);
        w.WriteNumber("differingCases", Differences.Count);
        w.WriteStartArray("differences");
        foreach (var (key, classes) in Differences)
        {
            w.WriteStartObject();
            w.WriteString("case", key.ToString());
            w.WriteString("op", Names.Of(key.Op));
            w.WriteString("layout", Names.Of(key.Layout));
            w.WriteString("layoutName", key.LayoutName);
            w.WriteNumber("before", key.Before);
            w.WriteNumber("after", key.After);
            w.WriteNumber("misalignment", key.Misalignment);
            w.WriteStartArray("classes");
            foreach (var cls in classes)
            {
                if (cls is { } value)
                {
                    w.WriteStringValue(Names.Of(value));
                }
                else
                {
                    w.WriteNullValue();
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean("differ", Differ);
        w.WriteEndObject();
    }

    private static string Num(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
