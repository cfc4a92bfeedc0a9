extern alias client;

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using client::Pvmd.Client;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Pvmd.Bench.Tracing;

/// <summary>
/// <c>pvmd-bench tracing DAEMON OTLP_GRPC_ENDPOINT [ROUNDS] [CALLS_PER_ROUND]</c>: starts two
/// daemons from DAEMON, one with telemetry off, one exporting traces, metrics and logs to the
/// OTLP endpoint; then reads 64 bytes of this process's memory through each, in alternating
/// rounds so that both see the same machine, and prints median and p99 latency. A third
/// configuration adds pvmctl-style client spans (exported too) to the traced daemon.
/// tracing-cost.sh next to this project runs it against a real OTLP receiver.
/// </summary>
internal static class TracingCost
{
    public const string Usage = "usage: pvmd-bench tracing DAEMON OTLP_GRPC_ENDPOINT [ROUNDS] [CALLS_PER_ROUND]";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var daemonPath = args[0];
        var endpoint = new Uri(args[1]);
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        var perRound = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 250;
        const int ReadBytes = 64;

        var directory = Directory.CreateTempSubdirectory("pvmd-bench-");
        var daemons = new List<Process>();
        var buffer = Marshal.AllocHGlobal(ReadBytes);
        try
        {
            var off = StartDaemon("off", []);
            var on = StartDaemon("on", ["--otlp-endpoint", endpoint.ToString()]);
            using var offClient = PvmdClient.ForSocket(off);
            using var onClient = PvmdClient.ForSocket(on);
            var target = new TargetProcess(Environment.ProcessId);
            var address = (ulong)buffer;

            // Client spans, sampled only while the "client too" configuration runs: the same
            // listener stays attached throughout, so the other rows pay only a sampler's "drop".
            using var tracer = Sdk.CreateTracerProviderBuilder()
                .ConfigureResource(r => r.AddService("pvmd-bench"))
                .AddSource(PvmdClientTelemetry.SourceName)
                .SetSampler(new SwitchSampler())
                .AddOtlpExporter(o => { o.Endpoint = endpoint; o.Protocol = OtlpExportProtocol.Grpc; })
                .Build();

            async Task<double> Call(PvmdClient client)
            {
                var start = Stopwatch.GetTimestamp();
                var result = await client.ReadAsync(target, address, ReadBytes);
                var elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (result.Result.BytesRead != ReadBytes)
                {
                    throw new InvalidOperationException($"read {result.Result.BytesRead} bytes, not {ReadBytes}");
                }
                return elapsed;
            }

            // Warm up both daemons and this client (JIT, connections, the exporter's first batch).
            for (var i = 0; i < 500; i++)
            {
                await Call(offClient);
                await Call(onClient);
            }

            var samples = new Dictionary<string, List<double>> { ["tracing off"] = [], ["daemon tracing on"] = [], ["daemon + client tracing on"] = [] };
            for (var round = 0; round < rounds; round++)
            {
                foreach (var (name, client, clientSpans) in new[] { ("tracing off", offClient, false), ("daemon tracing on", onClient, false), ("daemon + client tracing on", onClient, true) })
                {
                    SwitchSampler.On = clientSpans;
                    for (var i = 0; i < perRound; i++)
                    {
                        samples[name].Add(await Call(client));
                    }
                }
            }
            SwitchSampler.On = false;

            Console.WriteLine($"64-byte reads over a Unix socket ({(offClient.LocalPathUsed ? "the local path" : "gRPC")}), {rounds} interleaved rounds of {perRound} calls each, after 500 warm-up calls per daemon");
            Console.WriteLine($"{"configuration",-28} {"calls",6} {"median µs",10} {"p99 µs",8} {"mean µs",8}");
            foreach (var (name, list) in samples)
            {
                list.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-28} {list.Count,6} {Percentile(list, 0.50),10:F1} {Percentile(list, 0.99),8:F1} {list.Average(),8:F1}"));
            }
            return 0;
        }
        finally
        {
            foreach (var daemon in daemons)
            {
                if (!daemon.HasExited)
                {
                    daemon.Kill();
                    daemon.WaitForExit();
                }
            }
            Marshal.FreeHGlobal(buffer);
            directory.Delete(recursive: true);
        }

        string StartDaemon(string name, string[] extra)
        {
            var socket = Path.Combine(directory.FullName, name + ".sock");
            var start = new ProcessStartInfo(daemonPath) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])["--socket", socket, .. extra])
            {
                start.ArgumentList.Add(argument);
            }
            // "off" must be off whatever this shell exports.
            foreach (var variable in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("PVMD_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(variable);
            }
            var process = Process.Start(start) ?? throw new InvalidOperationException("pvmd did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            daemons.Add(process);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new InvalidOperationException($"pvmd ({name}) did not start");
                }
                Thread.Sleep(50);
            }
            return socket;
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

/// <summary>Samples everything while <see cref="On"/>, nothing otherwise.</summary>
internal sealed class SwitchSampler : Sampler
{
    public static volatile bool On;

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        new(On ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
}
