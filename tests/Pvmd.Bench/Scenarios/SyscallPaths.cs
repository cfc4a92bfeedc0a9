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

    /// <summary>The probe's floor: each case of its default sweep (264,192) makes at least one
    /// call whose local buffer runs into an inaccessible page, and such a call costs far more
    /// than a clean one (the kernel takes a page fault and unwinds it). This times that call
    /// alone, 64 bytes from the target into a buffer whose last 48 bytes are PROT_NONE.</summary>
    public static async Task ProbeFloorAsync(ResultTable table, BulkTarget target, BenchSettings settings, Action<string> progress)
    {
        const string Path = "in-process process_vm_readv running into a PROT_NONE page (the probe's floor)";
        const int DefaultSweepCases = 264_192;
        await table.RunAsync("syscall.faulting", Path, () =>
        {
            var page = (nuint)Environment.SystemPageSize;
            var mapping = Libc.Mmap(0, 2 * page, 3, 0x22, -1, 0); // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
            if (mapping == -1 || Libc.Mprotect(mapping + (nint)page, page, 0) != 0)
            {
                throw new InvalidOperationException("cannot map the guard page");
            }
            try
            {
                var latency = Latency.Measure(1000, settings.SyscallCalls, () => ReadIntoGuard(target.Pid, target.Bulk.Start, mapping + (nint)page - 16));
                var floor = latency.MedianMicroseconds * DefaultSweepCases / 1e6;
                return Task.FromResult(new Row("syscall.faulting", Path)
                {
                    Latency = latency,
                    Detail = $"× 264,192 cases = {floor:0.00} s before any other work",
                });
            }
            finally
            {
                Libc.Munmap(mapping, 2 * page);
            }
        }, progress);
    }

    private static unsafe void ReadIntoGuard(int pid, ulong address, nint local)
    {
        var localVector = new IoVec { Base = (nuint)local, Length = 64 };
        var remoteVector = new IoVec { Base = (nuint)address, Length = 64 };
        if (Libc.ProcessVmReadv(pid, &localVector, 1, &remoteVector, 1, 0) != 16)
        {
            throw new InvalidOperationException("a read into the guard page did not stop at it");
        }
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
