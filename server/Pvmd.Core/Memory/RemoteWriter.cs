using System.Runtime.InteropServices;
using Pvmd.Core.Interop;
using Pvmd.Core.Procfs;

namespace Pvmd.Core.Memory;

/// <summary>What a verified write really changed in the target.</summary>
/// <param name="BytesChanged">Bytes of the window [address - 64, address + length + 64) whose value changed.</param>
/// <param name="FirstChangedOffset">First offset from the address (negative before it) that changed; -1 if none.</param>
/// <param name="FirstDifferingOffset">First offset in [0, length) where the target does not hold the data; -1 if none.</param>
/// <param name="ChangedBeyondReturned">Changed bytes at offsets at or past the returned count, or before the address.</param>
/// <param name="UnwrittenBelowReturned">Bytes below the returned count that do not hold the data.</param>
public sealed record WriteCheck(ulong BytesChanged, long FirstChangedOffset, long FirstDifferingOffset, ulong ChangedBeyondReturned, ulong UnwrittenBelowReturned)
{
    public bool Mismatch => ChangedBeyondReturned != 0 || UnwrittenBelowReturned != 0;
}

/// <summary>The result of one write.</summary>
public sealed record WriteOutcome(ulong Returned, Hole? Stop, WriteCheck? Check);

/// <summary>
/// Writes into a target with process_vm_writev (which honours page protection), or with
/// <c>force</c> through /proc/PID/mem (which writes through it, as debuggers do to plant
/// breakpoints in read-only text). With verify, the window around the write is read before
/// and after, so the caller learns what really changed, not only what the kernel reported.
/// </summary>
public sealed class RemoteWriter(TransferLimits limits)
{
    /// <summary>Bytes either side of the write that verification also watches.</summary>
    public const int Margin = 64;

    /// <exception cref="InvalidRequestException">Empty data or a range past the address space.</exception>
    /// <exception cref="TargetNotFoundException">The target is gone.</exception>
    /// <exception cref="AccessDeniedException">The kernel refused access.</exception>
    public WriteOutcome Write(TargetHandle target, ulong address, ReadOnlySpan<byte> data, bool verify, bool force)
    {
        limits.ValidateWrite(address, data.Length);
        var window = WindowAround(address, data.Length);
        var before = verify ? Snapshot.Take(target, window, limits) : null;

        var (returned, errno) = force ? WriteThroughProcMem(target, address, data) : WriteWithSyscall(target.Pid, address, data);
        if (errno == Errno.ESRCH || !target.IsAlive())
        {
            throw new TargetNotFoundException(target.Pid);
        }
        if (returned < 0 && errno != Errno.EFAULT && errno != Errno.EIO)
        {
            throw target.ErrorFor(force ? "pwrite(/proc/PID/mem)" : "process_vm_writev", errno);
        }
        var count = (ulong)Math.Max(returned, 0);
        Hole? stop = null;
        if (count < (ulong)data.Length)
        {
            stop = ClassifyWriteStop(ProcMaps.Read(target.Pid), address + count, address + (ulong)data.Length, force);
        }
        WriteCheck? check = null;
        if (before is not null)
        {
            var after = Snapshot.Take(target, window, limits);
            check = Compare(before, after, window.Address, address, data, count);
        }
        return new WriteOutcome(count, stop, check);
    }

    private static MemoryRange WindowAround(ulong address, int length)
    {
        var start = address >= Margin ? address - Margin : 0;
        var end = address + (ulong)length;
        end = end > ulong.MaxValue - Margin ? ulong.MaxValue : end + Margin;
        return new MemoryRange(start, end - start);
    }

    private static unsafe (long Returned, int Errno) WriteWithSyscall(int pid, ulong address, ReadOnlySpan<byte> data)
    {
        fixed (byte* source = data)
        {
            var local = new IoVec((nuint)source, (nuint)data.Length);
            var remote = new IoVec((nuint)address, (nuint)data.Length);
            var result = Libc.ProcessVmWritev(pid, &local, 1, &remote, 1, 0);
            return (result, result < 0 ? Marshal.GetLastPInvokeError() : 0);
        }
    }

    private static unsafe (long Returned, int Errno) WriteThroughProcMem(TargetHandle target, ulong address, ReadOnlySpan<byte> data)
    {
        // /proc/PID/mem takes the address as a signed file offset; no user memory lies past 2^63.
        if (address > (ulong)(long.MaxValue - data.Length))
        {
            return (-1, Errno.EFAULT);
        }
        var fd = Libc.Open($"/proc/{target.Pid}/mem", Libc.ORdwr | Libc.OCloexec);
        if (fd < 0)
        {
            var openErrno = Marshal.GetLastPInvokeError();
            return (-1, openErrno == Errno.ENOENT ? Errno.ESRCH : openErrno);
        }
        try
        {
            // The descriptor holds the address space it was opened on. Checked alive after the
            // open, it cannot be a later process that reused the pid.
            if (!target.IsAlive())
            {
                return (-1, Errno.ESRCH);
            }
            long written = 0;
            fixed (byte* source = data)
            {
                while (written < data.Length)
                {
                    var result = Libc.Pwrite(fd, source + written, (nuint)(data.Length - written), (long)address + written);
                    if (result <= 0)
                    {
                        var errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
                        return written > 0 ? (written, 0) : (result < 0 ? -1 : 0, errno);
                    }
                    written += result;
                }
            }
            return (written, 0);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Why writing stopped: no mapping, no write permission (process_vm_writev only;
    /// /proc/PID/mem writes through it), or a fault.</summary>
    private static Hole ClassifyWriteStop(ProcMaps maps, ulong stop, ulong end, bool force)
    {
        var region = maps.Find(stop);
        if (region is null)
        {
            var next = maps.NextAfter(stop);
            return new Hole(stop, Math.Min(end, next?.Start ?? end) - stop, StopReason.Unmapped);
        }
        if (!region.CanWrite && !force)
        {
            return new Hole(stop, Math.Min(end, region.End) - stop, StopReason.Protection);
        }
        return new Hole(stop, Math.Min(end, region.End) - stop, StopReason.Fault);
    }

    private static WriteCheck Compare(Snapshot before, Snapshot after, ulong windowStart, ulong address, ReadOnlySpan<byte> data, ulong returned)
    {
        ulong changed = 0, beyond = 0, unwritten = 0;
        long firstChanged = -1, firstDiffering = -1;
        var dataStart = (long)(address - windowStart);
        for (var i = 0; i < before.Bytes.Length; i++)
        {
            var offset = i - dataStart;
            var known = before.Known[i] && after.Known[i];
            if (known && before.Bytes[i] != after.Bytes[i])
            {
                changed++;
                if (firstChanged == -1)
                {
                    firstChanged = offset;
                }
                if (offset < 0 || (ulong)offset >= returned)
                {
                    beyond++;
                }
            }
            if (offset >= 0 && offset < data.Length)
            {
                var holdsData = after.Known[i] && after.Bytes[i] == data[(int)offset];
                if (!holdsData)
                {
                    if (firstDiffering == -1)
                    {
                        firstDiffering = offset;
                    }
                    if ((ulong)offset < returned)
                    {
                        unwritten++;
                    }
                }
            }
        }
        return new WriteCheck(changed, firstChanged, firstDiffering, beyond, unwritten);
    }

    /// <summary>The readable bytes of a window; unreadable bytes are marked unknown, not zero.</summary>
    private sealed class Snapshot(byte[] bytes, bool[] known)
    {
        public byte[] Bytes { get; } = bytes;
        public bool[] Known { get; } = known;

        public static Snapshot Take(TargetHandle target, MemoryRange window, TransferLimits limits)
        {
            var bytes = new byte[window.Length];
            var known = new bool[window.Length];
            var reader = new RemoteReader(limits with { MaxBytes = Math.Max(limits.MaxBytes, window.Length) });
            foreach (var batch in reader.Read(target, [window], verify: false, CancellationToken.None))
            {
                foreach (var piece in batch.Pieces)
                {
                    var offset = (int)(piece.Address - window.Address);
                    piece.Data.Span.CopyTo(bytes.AsSpan(offset));
                    known.AsSpan(offset, piece.Data.Length).Fill(true);
                }
            }
            return new Snapshot(bytes, known);
        }
    }
}
