using System.Text.Json;
using Pvmd.TestTarget;

namespace Pvmd.Bench.Hosting;

/// <summary>A pvmd-test-target with a "bulk" region of known content (TestPattern.BulkSeed)
/// that every path reads. Disposing closes its stdin (it exits) and kills it if it lingers.</summary>
internal sealed class BulkTarget : IDisposable
{
    private readonly ChildProcess _process;

    private BulkTarget(ChildProcess process, TargetLayout layout, TargetRegion bulk)
    {
        _process = process;
        Layout = layout;
        Bulk = bulk;
    }

    public TargetLayout Layout { get; }

    public TargetRegion Bulk { get; }

    public int Pid => Layout.Pid;

    public static async Task<BulkTarget> StartAsync(int bulkMib)
    {
        var process = ChildProcess.Start("pvmd-test-target", BenchPaths.TestTarget, ["--bulk-mib", $"{bulkMib}", "--tag", "pvmd-bench"], keepStdout: true);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var line = await process.Process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"pvmd-test-target printed no layout:\n{process.Log}");
            var layout = JsonSerializer.Deserialize(line, TargetLayoutJson.Default.TargetLayout)
                ?? throw new InvalidOperationException($"pvmd-test-target printed no layout: {line}");
            return new BulkTarget(process, layout, layout.Bulk ?? throw new InvalidOperationException($"pvmd-test-target has no bulk region: {line}"));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (!_process.Process.HasExited)
        {
            _process.Process.StandardInput.Close();
            _process.Process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }
}
