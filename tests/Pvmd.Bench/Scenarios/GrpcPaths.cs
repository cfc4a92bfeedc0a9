extern alias client;

using System.Diagnostics;
using client::Pvmd.Client;
using client::Pvmd.V1;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>Bulk reads and 64-byte reads over gRPC through the client library: the same code
/// against the do-nothing server and against pvmd, so that only the server differs.</summary>
internal static class GrpcPaths
{
    /// <summary>Where the 64-byte reads land: inside the region, off a page boundary.</summary>
    public const ulong SmallOffset = 4096 + 64;

    /// <summary>Streams <paramref name="length"/> bytes at the region's start
    /// <paramref name="repeats"/> times (after a shorter warm-up read); the rate in MB/s.
    /// <paramref name="check"/> sees each chunk with its offset in the region.</summary>
    public static async Task<double> StreamAsync(PvmdClient client, BulkTarget target, ulong length, int repeats, string path, bool check)
    {
        await ReadOnceAsync(client, target, Math.Min(length, 16 << 20), path, check: false);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++)
        {
            await ReadOnceAsync(client, target, length, path, check && i == 0);
        }
        return length * (double)repeats / clock.Elapsed.TotalSeconds / 1e6;
    }

    /// <summary>One streamed read of the region's first <paramref name="length"/> bytes.</summary>
    public static async Task ReadOnceAsync(PvmdClient client, BulkTarget target, ulong length, string path, bool check)
    {
        var region = target.Bulk;
        var received = 0UL;
        RangeResult? result = null;
        await foreach (var response in client.ReadStreamAsync(new TargetProcess(target.Pid), [new MemoryRange(region.Start, length)]))
        {
            foreach (var chunk in response.Chunks)
            {
                received += (ulong)chunk.Data.Length;
                if (check)
                {
                    PatternCheck.Expect(chunk.Data.Span, chunk.Address - region.Start, path);
                }
            }
            foreach (var done in response.Results)
            {
                result = done;
            }
        }
        if (received != length || result?.BytesRead != length)
        {
            throw new InvalidOperationException($"{path}: {received} bytes received, {result?.BytesRead} reported, not {length}");
        }
    }

    /// <summary>64-byte reads, one call each; every answer's count (and, unless the server
    /// reads no memory, its bytes) checked.</summary>
    public static Task<Latency> SmallReadsAsync(PvmdClient client, BulkTarget target, BenchSettings settings, string path, bool checkBytes)
    {
        var address = target.Bulk.Start + SmallOffset;
        var process = new TargetProcess(target.Pid);
        return Latency.MeasureAsync(settings.Warmup, settings.GrpcCalls, async () =>
        {
            var read = await client.ReadAsync(process, address, 64);
            if (read.Result.BytesRead != 64 || read.Chunks.Count != 1)
            {
                throw new InvalidOperationException($"{path}: a 64-byte read returned {read.Result.BytesRead} bytes in {read.Chunks.Count} chunks");
            }
            if (checkBytes)
            {
                PatternCheck.Expect(read.Chunks[0].Data.Span, SmallOffset, path);
            }
        });
    }

    public static async Task RunBaselineAsync(ResultTable table, PvmdClient client, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        var bulkPath = $"do-nothing gRPC server, stream of {BenchSettings.Size(settings.BulkLarge)} (1 MiB messages)";
        await table.RunAsync(ResultTable.BaselineBulk, bulkPath, async () =>
            new Row(ResultTable.BaselineBulk, bulkPath) { MegabytesPerSecond = await StreamAsync(client, target, settings.BulkLarge, settings.BulkLargeRepeats, bulkPath, check: false) },
            progress);
        const string SmallPath = "do-nothing gRPC server, 64 B ReadRemote (one-message stream)";
        await table.RunAsync(ResultTable.BaselineSmall, SmallPath, async () =>
            new Row(ResultTable.BaselineSmall, SmallPath) { Latency = await SmallReadsAsync(client, target, settings, SmallPath, checkBytes: false) },
            progress);
    }

    /// <summary>pvmd's rows for one transport of the client (<paramref name="name"/>: "gRPC",
    /// "local path"); keys start with <paramref name="prefix"/>.</summary>
    public static async Task RunPvmdAsync(ResultTable table, string prefix, string name, PvmdClient client, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        foreach (var (key, length, repeats) in new[] { ("bulk.small", settings.BulkSmall, settings.BulkSmallRepeats), ("bulk.large", settings.BulkLarge, settings.BulkLargeRepeats) })
        {
            var path = $"pvmd {name}, read {BenchSettings.Size(length)}";
            await table.RunAsync($"{prefix}.{key}", path, async () =>
                new Row($"{prefix}.{key}", path) { MegabytesPerSecond = await StreamAsync(client, target, length, repeats, path, settings.CheckEveryByte) },
                progress);
        }
        var smallPath = $"pvmd {name}, read 64 B";
        await table.RunAsync($"{prefix}.small", smallPath, async () =>
            new Row($"{prefix}.small", smallPath) { Latency = await SmallReadsAsync(client, target, settings, smallPath, checkBytes: true) },
            progress);
    }
}
