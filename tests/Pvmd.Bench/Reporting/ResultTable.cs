using System.Globalization;
using System.Text;

namespace Pvmd.Bench.Reporting;

/// <summary>One path's line of the table: a throughput, a latency, or another figure.</summary>
internal sealed record Row(string Key, string Path)
{
    /// <summary>Bulk transfer rate, 10^6 bytes per second.</summary>
    public double? MegabytesPerSecond { get; init; }

    public Latency? Latency { get; init; }

    /// <summary>The result when it is neither a rate nor a latency, or what follows it.</summary>
    public string? Detail { get; init; }

    public string? Target { get; init; }

    /// <summary>Whether the target is met; null when there is none or it cannot be judged.</summary>
    public bool? Met { get; init; }

    /// <summary>Why the path did not work or returned wrong bytes: the run fails.</summary>
    public string? Failure { get; init; }
}

/// <summary>
/// The rows of one run, printed as one Markdown table. Each rate and latency is set against
/// the in-process syscall and the do-nothing gRPC server of the same run, as relative speed:
/// 1 = as fast, "1/20" = twenty times slower (rate ÷ reference rate, reference median ÷ median).
/// </summary>
internal sealed class ResultTable
{
    public const string SyscallBulk = "syscall.bulk";
    public const string SyscallSmall = "syscall.small";
    public const string BaselineBulk = "baseline.bulk";
    public const string BaselineSmall = "baseline.small";

    private readonly List<Row> _rows = [];

    public IReadOnlyList<Row> Rows => _rows;

    public bool HasFailures => _rows.Any(r => r.Failure is not null);

    public Row? this[string key] => _rows.Find(r => r.Key == key);

    public void Add(Row row)
    {
        var index = _rows.FindIndex(r => r.Key == row.Key);
        if (index >= 0)
        {
            _rows[index] = row;
        }
        else
        {
            _rows.Add(row);
        }
    }

    /// <summary>Runs one measurement; an exception becomes the row's failure, and the run goes on.</summary>
    public async Task RunAsync(string key, string path, Func<Task<Row>> measure, Action<string> progress)
    {
        progress(path);
        try
        {
            Add(await measure());
        }
        catch (Exception e)
        {
            Add(new Row(key, path) { Failure = e.Message.Split('\n')[0] });
        }
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| path | result | vs in-process syscall | vs do-nothing gRPC | target | |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            var (vsSyscall, vsBaseline) = Ratios(row);
            var verdict = row.Failure is not null ? "FAILED" : row.Met switch { true => "PASS", false => "MISS", null => "" };
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Path} | {Result(row)} | {vsSyscall} | {vsBaseline} | {row.Target ?? ""} | {verdict} |");
        }
        return text.ToString();
    }

    /// <summary>Speed relative to a reference: "0.45", "1/N" once N times slower, "Nx" once
    /// ten or more times faster.</summary>
    public static string Relative(double ratio) => ratio switch
    {
        >= 10 => ratio.ToString("0", CultureInfo.InvariantCulture) + "x",
        >= 0.1 => ratio.ToString("0.00", CultureInfo.InvariantCulture),
        _ => "1/" + (1 / ratio).ToString(1 / ratio >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture),
    };

    public static string Number(double value) =>
        value.ToString(value >= 100 ? "#,0" : value >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture);

    private static string Result(Row row)
    {
        if (row.Failure is not null)
        {
            return "FAILED: " + row.Failure.Replace("|", "/", StringComparison.Ordinal);
        }
        var parts = new List<string>();
        if (row.MegabytesPerSecond is { } rate)
        {
            parts.Add($"{Number(rate)} MB/s");
        }
        if (row.Latency is { } latency)
        {
            parts.Add($"median {Number(latency.MedianMicroseconds)} µs, p99 {Number(latency.P99Microseconds)} µs");
        }
        if (row.Detail is not null)
        {
            parts.Add(row.Detail);
        }
        return string.Join("; ", parts);
    }

    private (string Syscall, string Baseline) Ratios(Row row)
    {
        if (row.Failure is not null)
        {
            return ("", "");
        }
        if (row.MegabytesPerSecond is { } rate)
        {
            return (RateRatio(rate, SyscallBulk), RateRatio(rate, BaselineBulk));
        }
        if (row.Latency is { } latency)
        {
            return (LatencyRatio(latency, SyscallSmall), LatencyRatio(latency, BaselineSmall));
        }
        return ("", "");
    }

    private string RateRatio(double rate, string reference) =>
        this[reference]?.MegabytesPerSecond is { } referenceRate and > 0 ? Relative(rate / referenceRate) : "";

    private string LatencyRatio(Latency latency, string reference) =>
        this[reference]?.Latency is { } referenceLatency && latency.MedianMicroseconds > 0 ? Relative(referenceLatency.MedianMicroseconds / latency.MedianMicroseconds) : "";
}
