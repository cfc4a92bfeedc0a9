using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Pvmd.Core.Memory;

namespace Pvmd.Bench.Micro;

/// <summary>
/// The engine's hot paths, timed and their allocations counted (BenchmarkDotNet's memory
/// diagnoser): a 64-byte read and a 1 MiB read into a caller's buffer (the local path's way),
/// pinning a target, and renewing a pinned one (the local path's way for a polled process).
/// The target is this process: the syscall is the same, and nothing else runs.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int RegionBytes = 1 << 20;
    private readonly RemoteReader _reader = new(new TransferLimits());
    private readonly byte[] _destination = new byte[RegionBytes];
    private nint _region;
    private TargetHandle _self = null!;
    private MemoryRange[] _small = [];
    private MemoryRange[] _large = [];

    /// <summary><c>pvmd-bench micro</c>: runs in this process (no generated project to build).</summary>
    public static int Run()
    {
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<EngineBenchmarks>(config);
        return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
    }

    [GlobalSetup]
    public void Setup()
    {
        _region = Marshal.AllocHGlobal(RegionBytes);
        // Touched once, so every read copies resident pages.
        Marshal.Copy(new byte[RegionBytes], 0, _region, RegionBytes);
        _self = TargetHandle.Open(Environment.ProcessId);
        _small = [new MemoryRange((ulong)_region + 4096 + 64, 64)];
        _large = [new MemoryRange((ulong)_region, RegionBytes)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _self.Dispose();
        Marshal.FreeHGlobal(_region);
    }

    [Benchmark(Description = "read 64 B (new batch buffer)")]
    public int Read64() => Drain(_reader.Read(_self, _small, verify: false, CancellationToken.None));

    [Benchmark(Description = "read 1 MiB into the caller's buffer")]
    public int Read1MiBIntoBuffer() => Drain(_reader.Read(_self, _large, verify: false, CancellationToken.None, length => _destination.AsMemory(0, length)));

    [Benchmark(Description = "pin a target (pidfd + stat)")]
    public ulong Pin()
    {
        using var handle = TargetHandle.Open(Environment.ProcessId);
        return handle.StartTime;
    }

    [Benchmark(Description = "renew a pinned target (stat)")]
    public bool Renew() => _self.TryRenew(Environment.ProcessId, 0);

    private static int Drain(IEnumerable<ReadBatch> batches)
    {
        var bytes = 0;
        foreach (var batch in batches)
        {
            foreach (var piece in batch.Pieces)
            {
                bytes += piece.Data.Length;
            }
        }
        return bytes;
    }
}
