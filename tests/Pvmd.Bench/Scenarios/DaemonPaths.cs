extern alias client;

using System.Diagnostics;
using System.Globalization;
using client::Pvmd.Client;
using client::Pvmd.V1;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>What only the daemon does: scatter-gather, writes, the probe, and its memory
/// under concurrent streams.</summary>
internal static class DaemonPaths
{
    private const int ScatterRanges = 1000;
    private const int MaxWriteBytes = 16 << 20;
    private const uint WriteSeed = 5;

    public static async Task ScatterAsync(ResultTable table, PvmdClient client, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        const string Path = "pvmd gRPC, scatter-gather: 1,000 ranges of 64 B in one call vs 1,000 single calls";
        await table.RunAsync("pvmd.grpc.scatter", Path, async () =>
        {
            var region = target.Bulk;
            var process = new TargetProcess(target.Pid);
            // Spread over the region, so each range is its own page, as scattered fields are.
            var stride = (region.Length / ScatterRanges) & ~63UL;
            var ranges = Enumerable.Range(0, ScatterRanges).Select(i => new MemoryRange(region.Start + ((ulong)i * stride) + 64, 64)).ToArray();

            async Task Batch()
            {
                var results = await client.ReadAsync(process, ranges);
                for (var i = 0; i < ranges.Length; i++)
                {
                    if (results[i].Result.BytesRead != 64)
                    {
                        throw new InvalidOperationException($"{Path}: range {i} returned {results[i].Result.BytesRead} bytes");
                    }
                    if (settings.CheckEveryByte)
                    {
                        PatternCheck.Expect(results[i].Chunks[0].Data.Span, ranges[i].Address - region.Start, Path);
                    }
                }
            }

            async Task Singles()
            {
                foreach (var range in ranges)
                {
                    var read = await client.ReadAsync(process, range.Address, range.Length);
                    if (read.Result.BytesRead != 64)
                    {
                        throw new InvalidOperationException($"{Path}: a single call returned {read.Result.BytesRead} bytes");
                    }
                }
            }

            var batch = await Latency.MeasureAsync(1, settings.ScatterCalls, Batch);
            var singles = await Latency.MeasureAsync(0, settings.ScatterSingleRounds, Singles);
            var speedup = singles.MedianMicroseconds / batch.MedianMicroseconds;
            return new Row("pvmd.grpc.scatter", Path)
            {
                Detail = $"one call {Ms(batch.MedianMicroseconds)}, 1,000 calls {Ms(singles.MedianMicroseconds)} (medians): {speedup:0.0}x",
                Target = "≥ 20x",
                Met = speedup >= 20,
            };
        }, progress);
    }

    public static async Task ProbeAsync(ResultTable table, PvmdClient client, BenchSettings settings, Action<string> progress)
    {
        var path = settings.FullProbe ? "pvmd gRPC, probe: the default sweep" : "pvmd gRPC, probe: the RR layout (quick mode)";
        await table.RunAsync("pvmd.grpc.probe", path, async () =>
        {
            var request = settings.FullProbe ? new ProbeRequest() : new ProbeRequest { Layout = ProbeLayout.Rr, IncludeExact = true };
            var clock = Stopwatch.StartNew();
            ProbeSummary? summary = null;
            await foreach (var response in client.ProbeAsync(request))
            {
                if (response.KindCase == ProbeResponse.KindOneofCase.Summary)
                {
                    summary = response.Summary;
                }
            }
            var seconds = clock.Elapsed.TotalSeconds;
            if (summary is null || summary.Total == 0)
            {
                throw new InvalidOperationException($"{path}: no summary, or no case run");
            }
            return new Row("pvmd.grpc.probe", path)
            {
                Detail = string.Create(CultureInfo.InvariantCulture, $"{summary.Total:#,0} cases in {seconds:0.00} s ({summary.Total / seconds:#,0} cases/s)"),
                Target = settings.FullProbe ? "≤ 3 s" : null,
                Met = settings.FullProbe ? seconds <= 3 : null,
            };
        }, progress);
    }

    /// <summary>The daemon's peak resident memory (VmHWM, reset first through clear_refs)
    /// while it serves concurrent streams of the whole region.</summary>
    public static async Task PeakMemoryAsync(ResultTable table, PvmdClient client, GrpcServerProcess daemon, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        var path = $"pvmd gRPC, daemon peak RSS, {settings.ConcurrentStreams} concurrent reads of {BenchSettings.Size(settings.ConcurrentStreamBytes)}";
        await table.RunAsync("pvmd.grpc.rss", path, async () =>
        {
            // "5" resets the peak (VmHWM) to the current resident size (proc_pid_clear_refs(5)).
            await File.WriteAllTextAsync($"/proc/{daemon.Pid}/clear_refs", "5");
            var before = Status(daemon.Pid, "VmHWM");
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, settings.ConcurrentStreams).Select(i =>
                Task.Run(() => GrpcPaths.ReadOnceAsync(client, target, settings.ConcurrentStreamBytes, path, settings.CheckEveryByte && i == 0))));
            var seconds = clock.Elapsed.TotalSeconds;
            var peak = Status(daemon.Pid, "VmHWM");
            var megabytes = peak * 1024 / 1e6;
            return new Row("pvmd.grpc.rss", path)
            {
                Detail = string.Create(CultureInfo.InvariantCulture,
                    $"VmHWM {megabytes:0} MB (resident before: {before * 1024 / 1e6:0} MB); all streams together {settings.ConcurrentStreamBytes * (double)settings.ConcurrentStreams / seconds / 1e6:#,0} MB/s"),
                Target = "< 300 MB",
                Met = megabytes < 300,
            };
        }, progress);
    }

    /// <summary>Writes into the region's start, in calls of the daemon's default largest write,
    /// without and with verification. Runs last: it overwrites the pattern there.</summary>
    public static async Task WriteAsync(ResultTable table, PvmdClient client, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        var region = target.Bulk;
        var process = new TargetProcess(target.Pid);
        var pieces = new List<(ulong Offset, byte[] Data)>();
        for (var offset = 0UL; offset < settings.WriteBytes; offset += MaxWriteBytes)
        {
            pieces.Add((offset, Pvmd.TestTarget.TestPattern.Bytes(WriteSeed, offset, (int)Math.Min(MaxWriteBytes, settings.WriteBytes - offset))));
        }
        foreach (var verify in new[] { false, true })
        {
            var key = verify ? "pvmd.grpc.write.verify" : "pvmd.grpc.write";
            var path = $"pvmd gRPC, write {BenchSettings.Size(settings.WriteBytes)} in {BenchSettings.Size(MaxWriteBytes)} calls{(verify ? ", verified" : "")}";
            await table.RunAsync(key, path, async () =>
            {
                var clock = Stopwatch.StartNew();
                for (var repeat = 0; repeat < settings.WriteRepeats; repeat++)
                {
                    foreach (var (offset, data) in pieces)
                    {
                        var response = await client.WriteAsync(process, region.Start + offset, data, verify);
                        if (response.SyscallReturned != (ulong)data.Length || (verify && (response.Check is null || response.Check.Mismatch)))
                        {
                            throw new InvalidOperationException($"{path}: the write at offset 0x{offset:x} returned {response.SyscallReturned} of {data.Length} bytes ({response.Check})");
                        }
                    }
                }
                var seconds = clock.Elapsed.TotalSeconds;
                if (settings.CheckEveryByte)
                {
                    await ReadBackAsync(client, process, region.Start, settings.WriteBytes, path);
                }
                return new Row(key, path) { MegabytesPerSecond = settings.WriteBytes * (double)settings.WriteRepeats / seconds / 1e6 };
            }, progress);
        }
    }

    private static async Task ReadBackAsync(PvmdClient client, TargetProcess process, ulong start, ulong length, string path)
    {
        var received = 0UL;
        await foreach (var response in client.ReadStreamAsync(process, [new MemoryRange(start, length)]))
        {
            foreach (var chunk in response.Chunks)
            {
                PatternCheck.Expect(chunk.Data.Span, chunk.Address - start, path + " (read back)", WriteSeed);
                received += (ulong)chunk.Data.Length;
            }
        }
        if (received != length)
        {
            throw new InvalidOperationException($"{path}: read back {received} of {length} bytes");
        }
    }

    /// <summary>A "Name: N kB" line of /proc/PID/status, in kB.</summary>
    private static long Status(int pid, string name)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"/proc/{pid}/status has no {name}");
    }

    private static string Ms(double microseconds) => $"{ResultTable.Number(microseconds / 1000)} ms";
}
