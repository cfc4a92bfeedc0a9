using Pvmd.Bench.Gdb;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>Starts everything a run needs (the target, pvmd, the do-nothing server,
/// gdbserver), measures each path in turn, one at a time, and judges the targets.</summary>
internal sealed class ScenarioRunner(BenchSettings settings, Action<string> progress)
{
    public async Task<ResultTable> RunAsync()
    {
        var table = new ResultTable();
        var directory = Directory.CreateTempSubdirectory("pvmd-bench-");
        try
        {
            progress($"starting the target ({settings.RegionMib} MiB region), pvmd and the do-nothing gRPC server");
            using var target = await BulkTarget.StartAsync(settings.RegionMib);
            using var daemon = await GrpcServerProcess.StartDaemonAsync(directory.FullName);
            using var baseline = await GrpcServerProcess.StartBaselineAsync(directory.FullName);
            var gdbserver = GdbServer.Find(progress, out var gdbMissing);

            await SyscallPaths.RunAsync(table, target, settings, progress);
            await SyscallPaths.ProbeFloorAsync(table, target, settings, progress);
            using (var client = baseline.CreateClient(LocalPaths.GrpcOnly))
            {
                await GrpcPaths.RunBaselineAsync(table, client, target, settings, progress);
            }
            using (var client = daemon.CreateClient(LocalPaths.GrpcOnly))
            {
                await GrpcPaths.RunPvmdAsync(table, "pvmd.grpc", "gRPC", client, target, settings, progress);
                await DaemonPaths.ScatterAsync(table, client, target, settings, progress);
                await DaemonPaths.ProbeAsync(table, client, settings, progress);
                await DaemonPaths.PeakMemoryAsync(table, client, daemon, target, settings, progress);
            }
            table.Add(new Row("pvmd.tracing", "pvmd gRPC, 64 B read, tracing on vs off")
            {
                Detail = "not in this table: `pvmd-bench tracing` (tests/Pvmd.Bench/tracing-cost.sh) needs an OTLP receiver",
            });
            await SocketFloor.RunAsync(table, directory.FullName, settings, progress);
            await LocalPaths.RunAsync(table, daemon, target, settings, progress);
            await GdbPaths.RunAsync(table, gdbserver, gdbMissing, target, settings, progress);
            using (var client = daemon.CreateClient(LocalPaths.GrpcOnly))
            {
                await DaemonPaths.WriteAsync(table, client, target, settings, progress);
            }
            JudgeAgainstGdbserver(table);
            LocalPaths.Judge(table);
            return table;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>pvmd's bulk read of the size gdbserver read, against gdbserver's rate.</summary>
    private static void JudgeAgainstGdbserver(ResultTable table)
    {
        if (table["pvmd.grpc.bulk.small"] is not { MegabytesPerSecond: { } pvmd } row)
        {
            return;
        }
        if (table[GdbPaths.BulkKey]?.MegabytesPerSecond is { } gdb and > 0)
        {
            table.Add(row with { Detail = $"{pvmd / gdb:0.0}x gdbserver", Target = "≥ 20x gdbserver", Met = pvmd / gdb >= 20 });
        }
        else
        {
            table.Add(row with { Target = "≥ 20x gdbserver (no gdbserver figure)" });
        }
    }
}
