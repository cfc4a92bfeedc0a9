using System.Diagnostics;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Interop;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>The limit every other path is measured against: process_vm_readv called by the
/// bench itself on the target, one iovec per call.</summary>
internal static class SyscallPaths
{
    private const int ChunkBytes = 1 << 20;

    public static async Task RunAsync(ResultTable table, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        var region = target.Bulk;
        await table.RunAsync(ResultTable.SyscallBulk, $"in-process process_vm_readv, 1 MiB chunks over {BenchSettings.Size(region.Length)}", () =>
        {
            var buffer = GC.AllocateUninitializedArray<byte>(ChunkBytes, pinned: true);
            ReadRegion(target.Pid, region.Start, Math.Min(region.Length, 16 << 20), buffer, check: false);
            var clock = Stopwatch.StartNew();
            for (var pass = 0; pass < settings.SyscallPasses; pass++)
            {
                ReadRegion(target.Pid, region.Start, region.Length, buffer, settings.CheckEveryByte && pass == 0);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            return Task.FromResult(new Row(ResultTable.SyscallBulk, $"in-process process_vm_readv, 1 MiB chunks over {BenchSettings.Size(region.Length)}")
            {
                MegabytesPerSecond = region.Length * (double)settings.SyscallPasses / seconds / 1e6,
            });
        }, progress);

        await table.RunAsync(ResultTable.SyscallSmall, "in-process process_vm_readv, 64 B", () =>
        {
            var buffer = new byte[64];
            var address = region.Start + 4096 + 64;
            var latency = Latency.Measure(1000, settings.SyscallCalls, () =>
            {
                if (Libc.ReadRemote(target.Pid, address, buffer) != buffer.Length)
                {
                    throw new InvalidOperationException("in-process process_vm_readv: a 64-byte read came back short");
                }
            });
            PatternCheck.Expect(buffer, address - region.Start, "in-process process_vm_readv");
            return Task.FromResult(new Row(ResultTable.SyscallSmall, "in-process process_vm_readv, 64 B") { Latency = latency });
        }, progress);
    }

    private static void ReadRegion(int pid, ulong start, ulong length, byte[] buffer, bool check)
    {
        for (var offset = 0UL; offset < length; offset += ChunkBytes)
        {
            var count = Libc.ReadRemote(pid, start + offset, buffer);
            if (count != ChunkBytes)
            {
                throw new InvalidOperationException($"in-process process_vm_readv: {count} bytes at region offset 0x{offset:x}, not {ChunkBytes}");
            }
            if (check)
            {
                PatternCheck.Expect(buffer, offset, "in-process process_vm_readv");
            }
        }
    }
}
