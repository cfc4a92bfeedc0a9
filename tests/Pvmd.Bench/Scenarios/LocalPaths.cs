extern alias client;

using client::Pvmd.Client;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>The node-local fast path (shared memory handed over the Unix socket). The client
/// library of this build has no such path: the rows say so, and the gRPC rows use the client
/// as it is.</summary>
internal static class LocalPaths
{
    /// <summary>Client options for the gRPC rows.</summary>
    public static PvmdClientOptions GrpcOnly(PvmdClientOptions options) => options;

    public static Task RunAsync(ResultTable table, GrpcServerProcess daemon, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        const string Missing = "not measured: the client library of this build has no local path";
        table.Add(new Row("pvmd.local.bulk.small", $"pvmd local path, read {BenchSettings.Size(settings.BulkSmall)}") { Detail = Missing });
        table.Add(new Row("pvmd.local.small", "pvmd local path, read 64 B") { Detail = Missing });
        return Task.CompletedTask;
    }

    public static void Judge(ResultTable table)
    {
    }
}
