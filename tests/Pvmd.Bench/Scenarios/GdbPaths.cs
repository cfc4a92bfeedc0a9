using System.Diagnostics;
using Pvmd.Bench.Gdb;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>The peer: gdbserver attached to the target, read with 'm' packets over TCP on
/// loopback. Attaching stops the target until the bench detaches.</summary>
internal static class GdbPaths
{
    public const string BulkKey = "gdb.bulk";
    public const string SmallKey = "gdb.small";

    public static async Task RunAsync(ResultTable table, string? gdbserver, string missing, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        var bulkPath = $"gdbserver, 'm' packets over TCP loopback, read {BenchSettings.Size(settings.GdbBytes)}";
        const string SmallPath = "gdbserver, 'm' packet, read 64 B";
        if (gdbserver is null)
        {
            table.Add(new Row(BulkKey, bulkPath) { Detail = missing });
            table.Add(new Row(SmallKey, SmallPath) { Detail = missing });
            return;
        }
        progress("attaching gdbserver");
        ChildProcess server;
        RspClient client;
        try
        {
            (server, client) = await GdbServer.AttachAsync(gdbserver, target.Pid);
        }
        catch (Exception e)
        {
            table.Add(new Row(BulkKey, bulkPath) { Failure = e.Message.Split('\n')[0] });
            table.Add(new Row(SmallKey, SmallPath) { Failure = e.Message.Split('\n')[0] });
            return;
        }
        using (server)
        using (client)
        {
            var region = target.Bulk;
            await table.RunAsync(BulkKey, bulkPath, () =>
            {
                var packet = new byte[client.MaxReadBytes];
                var clock = Stopwatch.StartNew();
                for (var offset = 0UL; offset < settings.GdbBytes; offset += (ulong)packet.Length)
                {
                    var piece = packet.AsSpan(0, (int)Math.Min((ulong)packet.Length, settings.GdbBytes - offset));
                    client.ReadMemory(region.Start + offset, piece);
                    if (settings.CheckEveryByte)
                    {
                        PatternCheck.Expect(piece, offset, bulkPath);
                    }
                }
                var rate = settings.GdbBytes / clock.Elapsed.TotalSeconds / 1e6;
                return Task.FromResult(new Row(BulkKey, bulkPath) { MegabytesPerSecond = rate, Detail = $"{client.MaxReadBytes:#,0} B per packet (PacketSize {client.PacketSize:#,0})" });
            }, progress);
            await table.RunAsync(SmallKey, SmallPath, () =>
            {
                var buffer = new byte[64];
                var latency = Latency.Measure(settings.Warmup, settings.GdbCalls, () =>
                {
                    client.ReadMemory(region.Start + GrpcPaths.SmallOffset, buffer);
                    PatternCheck.Expect(buffer, GrpcPaths.SmallOffset, SmallPath);
                });
                return Task.FromResult(new Row(SmallKey, SmallPath) { Latency = latency });
            }, progress);
            try
            {
                client.Detach();
            }
            catch (InvalidOperationException)
            {
                // Killing gdbserver below detaches too.
            }
        }
    }
}
