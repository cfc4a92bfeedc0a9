using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Xunit.Abstractions;

namespace Pvmd.Tests.Reliability;

/// <summary>
/// 64 concurrent clients, each on its own connection, mixing reads (verified against the
/// target's known content), writes (each read back) and probes for a bounded time. Zero
/// unexpected errors; the daemon's memory stays bounded. Sized for CI on 2 cores.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    public const int Clients = 64;

    public const long RssBoundKilobytes = 512 * 1024;

    private static readonly TimeSpan s_duration = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task SixtyFourClients_MixedTraffic_NoUnexpectedErrors()
    {
        await using var daemon = await DaemonFixture.StartAsync(["--max-concurrent", "256", "--max-concurrent-per-caller", "256"]);
        using var target = TargetProcess.Start(256); // 1 MiB of pattern
        var slice = (int)target.Scratch.Length / Clients;
        var counts = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        long sampledPeak = 0;

        var clients = Enumerable.Range(0, Clients).Select(id => Task.Run(async () =>
        {
            using var channel = UnixSocketChannel.Create(daemon.SocketPath);
            var client = new RemoteMemory.RemoteMemoryClient(channel);
            var random = new Random(id);
            var mine = target.Scratch.Start + (ulong)(id * slice);
            for (var n = 0; clock.Elapsed < s_duration; n++)
            {
                var started = Stopwatch.GetTimestamp();
                var kind = n % 4 == 1 && id % 8 == 0 ? "probe" : random.Next(10) < 7 ? "read" : "write";
                try
                {
                    switch (kind)
                    {
                        case "read":
                            var offset = (ulong)random.Next(0, (int)target.Pattern.Length - 1);
                            var length = (ulong)random.Next(1, (int)Math.Min(256 << 10, target.Pattern.Length - offset) + 1);
                            var outcome = await ReadOutcome.ReadAsync(client, new ReadRemoteRequest { Target = target.Target, Ranges = { new V1.Range { Address = target.Pattern.Start + offset, Length = length } } });
                            Assert.Equal(length, outcome[0].Result!.BytesRead);
                            Expect.Chunks(outcome[0], target.Pattern.Start + offset, length, target.Pattern, TestPattern.PatternSeed);
                            break;
                        case "write":
                            var data = new byte[slice];
                            random.NextBytes(data);
                            var written = await client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = mine, Data = ByteString.CopyFrom(data) });
                            Assert.Equal((ulong)slice, written.SyscallReturned);
                            var back = await ReadOutcome.ReadAsync(client, new ReadRemoteRequest { Target = target.Target, Ranges = { new V1.Range { Address = mine, Length = (ulong)slice } } });
                            Assert.Equal(data, back[0].Chunks.SelectMany(c => c.Data.ToByteArray()).ToArray());
                            break;
                        default:
                            using (var call = client.ProbeShortBuffer(new ProbeRequest { Before = new IntRange { Min = 0, Max = 4 }, After = new IntRange { Min = 1, Max = 2 }, Misalignment = new IntRange { Min = 0, Max = 0 } }))
                            {
                                var summaries = 0;
                                await foreach (var message in call.ResponseStream.ReadAllAsync())
                                {
                                    summaries += message.KindCase == ProbeResponse.KindOneofCase.Summary ? 1 : 0;
                                }
                                Assert.Equal(1, summaries);
                            }
                            break;
                    }
                    counts.AddOrUpdate(kind, 1, (_, c) => c + 1);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception e)
                {
                    failures.Enqueue($"client {id} {kind}: {e.GetType().Name}: {e.Message}");
                }
                if (id == 0 && n % 20 == 0)
                {
                    Interlocked.Exchange(ref sampledPeak, Math.Max(Interlocked.Read(ref sampledPeak), HostProcesses.Memory(daemon.Pid).ResidentKilobytes));
                }
            }
        })).ToList();
        await Task.WhenAll(clients);
        var elapsed = clock.Elapsed.TotalSeconds;
        var memory = HostProcesses.Memory(daemon.Pid);
        var sorted = latencies.OrderBy(l => l).ToArray();

        var total = counts.Values.Sum();
        output.WriteLine($"{Clients} clients, {elapsed:F1} s: {total} calls ({total / elapsed:F0}/s): {string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value} {c.Key}s"))}; "
            + $"latency p50 {Percentile(sorted, 0.5):F1} ms, p99 {Percentile(sorted, 0.99):F1} ms; failures {failures.Count}; "
            + $"daemon RSS {memory.ResidentKilobytes} kB, sampled peak {sampledPeak} kB, peak {memory.PeakKilobytes} kB");
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(20)));
        Assert.True(counts.GetValueOrDefault("read") > 0 && counts.GetValueOrDefault("write") > 0 && counts.GetValueOrDefault("probe") > 0, "every kind of call ran");
        Assert.True(memory.PeakKilobytes < RssBoundKilobytes, $"daemon peak RSS {memory.PeakKilobytes} kB, bound {RssBoundKilobytes} kB");
        Assert.Empty(HostProcesses.Children(daemon.Pid));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, p * sorted.Length)];
}
