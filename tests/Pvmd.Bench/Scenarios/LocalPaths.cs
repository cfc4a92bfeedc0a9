extern alias client;

using System.Diagnostics;
using client::Pvmd.Client;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>The node-local path (shared memory handed over the local socket): the client reads
/// into its own buffer with <see cref="PvmdClient.ReadIntoAsync"/>, the way a front end pages
/// through a region, and every row checks that the path really was used.</summary>
internal static class LocalPaths
{
    /// <summary>Client options for the gRPC rows: the local path off.</summary>
    public static PvmdClientOptions GrpcOnly(PvmdClientOptions options) => options with { UseLocalPath = false };

    public static async Task RunAsync(ResultTable table, GrpcServerProcess daemon, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        using var client = daemon.CreateClient();
        var process = new TargetProcess(target.Pid);
        var region = target.Bulk;
        foreach (var (key, length, repeats) in new[] { ("pvmd.local.bulk.small", settings.BulkSmall, settings.BulkSmallRepeats), ("pvmd.local.bulk.large", settings.BulkLarge, settings.BulkLargeRepeats) })
        {
            var path = $"pvmd local path, read {BenchSettings.Size(length)} into the caller's buffer";
            await table.RunAsync(key, path, async () =>
            {
                var buffer = GC.AllocateUninitializedArray<byte>(checked((int)length));
                async Task ReadOnce(bool check)
                {
                    var result = await client.ReadIntoAsync(process, region.Start, buffer);
                    if (result.BytesRead != length)
                    {
                        throw new InvalidOperationException($"{path}: {result.BytesRead} bytes read, not {length}");
                    }
                    if (check)
                    {
                        PatternCheck.Expect(buffer, 0, path);
                    }
                }

                await ReadOnce(check: false);
                RequireLocalPath(client, path);
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < repeats; i++)
                {
                    await ReadOnce(settings.CheckEveryByte && i == 0);
                }
                return new Row(key, path) { MegabytesPerSecond = length * (double)repeats / clock.Elapsed.TotalSeconds / 1e6 };
            }, progress);
        }

        const string SmallPath = "pvmd local path, read 64 B";
        await table.RunAsync("pvmd.local.small", SmallPath, async () =>
        {
            var address = region.Start + GrpcPaths.SmallOffset;
            var buffer = new byte[64];
            var latency = await Latency.MeasureAsync(settings.Warmup, settings.GrpcCalls, async () =>
            {
                var result = await client.ReadIntoAsync(process, address, buffer);
                if (result.BytesRead != 64)
                {
                    throw new InvalidOperationException($"{SmallPath}: {result.BytesRead} bytes read, not 64");
                }
                PatternCheck.Expect(buffer, GrpcPaths.SmallOffset, SmallPath);
            });
            RequireLocalPath(client, SmallPath);
            return new Row("pvmd.local.small", SmallPath) { Latency = latency };
        }, progress);
    }

    /// <summary>The issue's targets: bulk at least half the in-process syscall's rate, a 64-byte
    /// read's median at most 20 µs.</summary>
    public static void Judge(ResultTable table)
    {
        var syscall = table[ResultTable.SyscallBulk]?.MegabytesPerSecond;
        foreach (var key in new[] { "pvmd.local.bulk.small", "pvmd.local.bulk.large" })
        {
            if (table[key] is { MegabytesPerSecond: { } rate } row && syscall is > 0)
            {
                table.Add(row with { Target = "≥ 0.5x syscall", Met = rate / syscall.Value >= 0.5 });
            }
        }
        if (table["pvmd.local.small"] is { Latency: { } latency } small)
        {
            table.Add(small with { Target = "median ≤ 20 µs", Met = latency.MedianMicroseconds <= 20 });
        }
    }

    private static void RequireLocalPath(PvmdClient client, string path)
    {
        if (!client.LocalPathUsed)
        {
            throw new InvalidOperationException($"{path}: the read went over gRPC ({client.LocalPathUnavailableReason ?? "no reason given"})");
        }
    }
}
