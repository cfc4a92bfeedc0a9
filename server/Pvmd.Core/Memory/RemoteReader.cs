using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Pvmd.Core.Host;
using Pvmd.Core.Interop;
using Pvmd.Core.Procfs;

namespace Pvmd.Core.Memory;

/// <summary>Readable bytes of one range, at an address inside it.</summary>
public readonly record struct ReadPiece(int RangeIndex, ulong Address, ReadOnlyMemory<byte> Data);

/// <summary>The result of one range, known once all its bytes are read or found unreadable.</summary>
public sealed class RangeOutcome(int index, MemoryRange range)
{
    public int Index { get; } = index;
    public MemoryRange Range { get; } = range;
    public ulong BytesRead { get; internal set; }
    /// <summary>Sum of the counts the kernel returned for this range.</summary>
    public ulong SyscallReturned { get; internal set; }
    public ulong UnreadableBytes => Range.Length - BytesRead;
    /// <summary>Unreadable stretches in address order; the first is where reading first stopped.</summary>
    public List<Hole> Holes { get; } = [];
    /// <summary>Present when the read was verified.</summary>
    public TransferCheck? Check { get; internal set; }

    internal ulong Settled => BytesRead + HoleBytes;
    internal ulong HoleBytes { get; private set; }

    internal void AddHole(Hole hole)
    {
        HoleBytes += hole.Length;
        // Adjacent stretches with one reason read better as one hole.
        if (Holes.Count > 0 && Holes[^1] is var last && last.Reason == hole.Reason && last.Address + last.Length == hole.Address)
        {
            Holes[^1] = last with { Length = last.Length + hole.Length };
            return;
        }
        Holes.Add(hole);
    }
}

/// <summary>What one syscall batch produced: bytes to send and the ranges it finished, and
/// what the kernel was asked and answered, for whoever reports on the call (traces, metrics).</summary>
public sealed class ReadBatch
{
    public List<ReadPiece> Pieces { get; } = [];
    public List<RangeOutcome> Completed { get; } = [];
    /// <summary>The first remote address of the call.</summary>
    public ulong Address { get; internal set; }
    /// <summary>Remote iovecs in the call.</summary>
    public int Iovecs { get; internal set; }
    /// <summary>Bytes asked for: the iovecs' total.</summary>
    public ulong Requested { get; internal set; }
    /// <summary>The kernel's count (the first run's when verified); -1 when the call failed.</summary>
    public long Returned { get; internal set; }
    /// <summary>The call's errno when it failed, else 0.</summary>
    public int ErrorNumber { get; internal set; }
    /// <summary>The sentinel check of the whole batch (offsets from its first byte), when verified.</summary>
    public TransferCheck? Check { get; internal set; }
    /// <summary>Time spent in process_vm_readv: both runs when verified.</summary>
    public TimeSpan SyscallTime { get; internal set; }
    /// <summary>Nothing is left to read after this batch.</summary>
    public bool IsLast { get; internal set; }
}

/// <summary>
/// Reads ranges of a target's memory with process_vm_readv, in batches of at most IOV_MAX
/// iovecs and <see cref="TransferLimits.ChunkBytes"/> bytes, so memory stays bounded whatever
/// the request's size. Where the kernel stops short, the reader asks the target's memory map
/// why, records the hole, and resumes at the next mapping or page: every readable byte is
/// delivered and no unreadable byte is ever filled in.
/// <para>With <paramref name="faults"/> (never by default) a verified batch that stops short
/// gets extra bytes written past the returned count, labelled as injected.</para>
/// </summary>
public sealed class RemoteReader(TransferLimits limits, FaultInjection? faults = null)
{
    private const byte FirstSentinel = 0x5A;
    private const byte SecondSentinel = 0xA5;

    /// <summary>Reads the ranges (validated with <see cref="TransferLimits.ValidateRead"/> first).
    /// Batches are produced lazily: the caller sends one before the next is read.</summary>
    /// <exception cref="TargetNotFoundException">The target was gone before anything was read.</exception>
    /// <param name="bufferFor">Where each batch is read: a buffer of the given length that
    /// stays the batch's own until the caller asks for the next one or later (the node-local
    /// path reads into shared memory this way). By default each batch gets a new array.</param>
    /// <exception cref="AccessDeniedException">The kernel refused access.</exception>
    public IEnumerable<ReadBatch> Read(TargetHandle target, IReadOnlyList<MemoryRange> ranges, bool verify, CancellationToken cancellationToken, Func<int, Memory<byte>>? bufferFor = null)
    {
        bufferFor ??= static length => GC.AllocateUninitializedArray<byte>(length);
        limits.ValidateRead(ranges);
        var work = new WorkQueue(ranges, limits.ChunkBytes);
        var outcomes = new RangeOutcome?[ranges.Count];
        var nextToComplete = 0;
        var delivered = false;
        ProcMaps? maps = null;
        // Grows to IOV_MAX only for reads of that many pieces: a 64-byte read allocates little.
        var batchPieces = new List<Segment>(Math.Min(Libc.IovMax, ranges.Count + 1));

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batchPieces.Clear();
            var total = work.TakeBatch(batchPieces, Libc.IovMax, limits.ChunkBytes);
            if (total == 0)
            {
                yield break;
            }
            var buffer = bufferFor(total);
            var started = Stopwatch.GetTimestamp();
            var (returned, errno, checks) = verify ? ReadVerified(target.Pid, buffer, batchPieces, faults is { Reads: true } ? faults : null) : (ReadOnce(target.Pid, buffer.Span, batchPieces, out var e), e, null);
            var batch = new ReadBatch
            {
                Address = batchPieces[0].Address,
                Iovecs = batchPieces.Count,
                Requested = (ulong)total,
                Returned = returned,
                ErrorNumber = returned < 0 ? errno : 0,
                SyscallTime = Stopwatch.GetElapsedTime(started),
                Check = checks is null ? null : new TransferCheck(),
            };

            var gone = errno == Errno.ESRCH || !target.IsAlive();
            if (!gone && returned < 0 && errno != Errno.EFAULT)
            {
                throw target.ErrorFor("process_vm_readv", errno);
            }
            if (gone)
            {
                // Bytes copied in a batch that ends with the target dead could come from a
                // process that reused its pid: none of them is delivered, nor checked.
                batch.Check = null;
                if (!delivered)
                {
                    throw new TargetNotFoundException(target.Pid);
                }
                foreach (var segment in batchPieces)
                {
                    Outcome(segment.RangeIndex).AddHole(new Hole(segment.Address, segment.Length, StopReason.ProcessGone));
                }
                work.DrainAsHoles(segment => Outcome(segment.RangeIndex).AddHole(new Hole(segment.Address, segment.Length, StopReason.ProcessGone)));
                CollectCompleted(batch);
                batch.IsLast = true;
                yield return batch;
                yield break;
            }

            var left = returned < 0 ? 0 : returned;
            var offset = 0;
            maps = null; // a stop in this batch reads a fresh map
            for (var i = 0; i < batchPieces.Count; i++)
            {
                var segment = batchPieces[i];
                var outcome = Outcome(segment.RangeIndex);
                var taken = (int)Math.Min((ulong)left, segment.Length);
                if (taken > 0)
                {
                    batch.Pieces.Add(new ReadPiece(segment.RangeIndex, segment.Address, buffer.Slice(offset, taken)));
                    outcome.BytesRead += (ulong)taken;
                    outcome.SyscallReturned += (ulong)taken;
                    left -= taken;
                    delivered = true;
                }
                if (checks is not null)
                {
                    checks[i].AddTo(outcome.Check ??= new TransferCheck(), segment.Address - outcome.Range.Address);
                    checks[i].AddTo(batch.Check!, (ulong)offset);
                }
                offset += (int)segment.Length;
                if ((ulong)taken < segment.Length)
                {
                    // The kernel stops at the first remote iovec it cannot finish: the rest of
                    // the batch was never tried and goes back to the queue, after the hole.
                    work.PushBack(batchPieces, i + 1);
                    var stop = segment.Address + (ulong)taken;
                    maps ??= ProcMaps.Read(target.Pid);
                    var hole = ClassifyStop(maps, stop, segment.End);
                    outcome.AddHole(hole);
                    if (hole.Address + hole.Length < segment.End)
                    {
                        work.PushFront(new Segment(segment.RangeIndex, hole.Address + hole.Length, segment.End - (hole.Address + hole.Length)));
                    }
                    break;
                }
            }
            CollectCompleted(batch);
            batch.IsLast = work.IsEmpty;
            yield return batch;
        }

        RangeOutcome Outcome(int index) => outcomes[index] ??= new RangeOutcome(index, ranges[index]);

        void CollectCompleted(ReadBatch batch)
        {
            while (nextToComplete < ranges.Count && Outcome(nextToComplete).Settled == ranges[nextToComplete].Length)
            {
                batch.Completed.Add(outcomes[nextToComplete]!);
                outcomes[nextToComplete] = null;
                nextToComplete++;
            }
        }
    }

    /// <summary>Why reading stopped at <paramref name="stop"/>, and how far the unreadable
    /// stretch goes (never past <paramref name="end"/>).</summary>
    internal static Hole ClassifyStop(ProcMaps maps, ulong stop, ulong end)
    {
        var region = maps.Find(stop);
        if (region is null)
        {
            var next = maps.NextAfter(stop);
            return new Hole(stop, Math.Min(end, next?.Start ?? end) - stop, StopReason.Unmapped);
        }
        if (!region.CanRead)
        {
            return new Hole(stop, Math.Min(end, region.End) - stop, StopReason.Protection);
        }
        // Mapped and readable, yet not copied (an I/O mapping, a file page past its end):
        // skip one page and try again.
        var pageSize = (ulong)HostFacts.PageSizeBytes;
        var pageEnd = (stop & ~(pageSize - 1)) + pageSize;
        return new Hole(stop, Math.Min(end, pageEnd) - stop, StopReason.Fault);
    }

    private static unsafe int ReadOnce(int pid, Span<byte> buffer, List<Segment> segments, out int errno)
    {
        var remote = ArrayPool<IoVec>.Shared.Rent(segments.Count);
        try
        {
            fixed (byte* local = buffer)
            fixed (IoVec* remoteVectors = remote)
            {
                for (var i = 0; i < segments.Count; i++)
                {
                    remoteVectors[i] = new IoVec((nuint)segments[i].Address, (nuint)segments[i].Length);
                }
                var localVector = new IoVec((nuint)local, (nuint)buffer.Length);
                var result = Libc.ProcessVmReadv(pid, &localVector, 1, remoteVectors, (nuint)segments.Count, 0);
                errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
                return (int)result;
            }
        }
        finally
        {
            ArrayPool<IoVec>.Shared.Return(remote);
        }
    }

    /// <summary>Reads the batch twice, into buffers filled with two different sentinels, so a
    /// byte the kernel wrote shows up whatever its value: it differs from the sentinel in at
    /// least one run. The first run's bytes are the ones delivered. Injected bytes (with
    /// <paramref name="faults"/>) are written into both runs' buffers past the returned count.</summary>
    private static (int Returned, int Errno, SegmentCheck[] Checks) ReadVerified(int pid, Memory<byte> memory, List<Segment> segments, FaultInjection? faults)
    {
        var buffer = memory.Span;
        var second = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            buffer.Fill(FirstSentinel);
            var returned = ReadOnce(pid, buffer, segments, out var errno);
            var secondSpan = second.AsSpan(0, buffer.Length);
            secondSpan.Fill(SecondSentinel);
            var secondReturned = ReadOnce(pid, second, segments, out _);
            var injectedFrom = -1;
            if (faults is not null && (returned >= 0 || errno == Errno.EFAULT) && faults.Apply(buffer, returned) > 0)
            {
                faults.Apply(secondSpan, secondReturned);
                injectedFrom = Math.Max(returned, 0);
            }
            var checks = new SegmentCheck[segments.Count];
            var left = Math.Max(returned, 0);
            var offset = 0;
            for (var i = 0; i < segments.Count; i++)
            {
                var length = (int)segments[i].Length;
                var reported = Math.Min(left, length);
                var injected = injectedFrom >= 0 && injectedFrom < offset + length && injectedFrom + faults!.ExtraBytes > offset;
                checks[i] = SegmentCheck.Measure(buffer.Slice(offset, length), secondSpan.Slice(offset, length), reported) with { Injected = injected };
                left -= reported;
                offset += length;
            }
            return (returned, errno, checks);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(second);
        }
    }

    /// <summary>The sentinel comparison for one segment of the local buffer.</summary>
    internal readonly record struct SegmentCheck(int Returned, int Modified, int ChangedBeyond, int UnwrittenBelow, int FirstModified, int LastModified, bool Injected = false)
    {
        public static SegmentCheck Measure(ReadOnlySpan<byte> firstRun, ReadOnlySpan<byte> secondRun, int returned)
        {
            int modified = 0, beyond = 0, unwritten = 0, first = -1, last = -1;
            for (var i = 0; i < firstRun.Length; i++)
            {
                var changed = firstRun[i] != FirstSentinel || secondRun[i] != SecondSentinel;
                if (changed)
                {
                    modified++;
                    last = i;
                    if (first < 0)
                    {
                        first = i;
                    }
                    if (i >= returned)
                    {
                        beyond++;
                    }
                }
                else if (i < returned)
                {
                    unwritten++;
                }
            }
            return new SegmentCheck(returned, modified, beyond, unwritten, first, last);
        }

        public void AddTo(TransferCheck check, ulong offsetInRange)
        {
            check.Returned += (ulong)Returned;
            check.Actual += (ulong)Modified;
            check.ChangedBeyondReturned += (ulong)ChangedBeyond;
            check.UnwrittenBelowReturned += (ulong)UnwrittenBelow;
            check.Injected |= Injected;
            if (FirstModified >= 0)
            {
                if (check.FirstModifiedOffset < 0)
                {
                    check.FirstModifiedOffset = (long)offsetInRange + FirstModified;
                }
                check.LastModifiedOffset = (long)offsetInRange + LastModified;
            }
        }
    }

    /// <summary>A part of a range still to be read.</summary>
    internal readonly record struct Segment(int RangeIndex, ulong Address, ulong Length)
    {
        public ulong End => Address + Length;
    }

    /// <summary>The segments still to read, in order: pushed-back segments first, then the
    /// ranges not yet started, cut into chunk-sized segments as they are reached (a request
    /// with 100,000 ranges never holds 100,000 segments).</summary>
    private sealed class WorkQueue(IReadOnlyList<MemoryRange> ranges, int chunkBytes)
    {
        private readonly Stack<Segment> _front = new();
        private int _nextRange;
        private ulong _nextOffset;

        public int TakeBatch(List<Segment> batch, int maxSegments, int maxBytes)
        {
            var total = 0;
            while (batch.Count < maxSegments && total < maxBytes && TryTake(out var segment))
            {
                var room = (ulong)(maxBytes - total);
                if (segment.Length > room)
                {
                    _front.Push(new Segment(segment.RangeIndex, segment.Address + room, segment.Length - room));
                    segment = segment with { Length = room };
                }
                batch.Add(segment);
                total += (int)segment.Length;
            }
            return total;
        }

        public bool IsEmpty => _front.Count == 0 && _nextRange >= ranges.Count;

        public void PushFront(Segment segment) => _front.Push(segment);

        /// <summary>Returns batch[from..] to the queue, keeping their order.</summary>
        public void PushBack(List<Segment> batch, int from)
        {
            for (var i = batch.Count - 1; i >= from; i--)
            {
                _front.Push(batch[i]);
            }
        }

        public void DrainAsHoles(Action<Segment> hole)
        {
            while (TryTake(out var segment))
            {
                hole(segment);
            }
        }

        private bool TryTake(out Segment segment)
        {
            if (_front.TryPop(out segment))
            {
                return true;
            }
            if (_nextRange >= ranges.Count)
            {
                return false;
            }
            var range = ranges[_nextRange];
            var length = Math.Min(range.Length - _nextOffset, (ulong)chunkBytes);
            segment = new Segment(_nextRange, range.Address + _nextOffset, length);
            _nextOffset += length;
            if (_nextOffset == range.Length)
            {
                _nextRange++;
                _nextOffset = 0;
            }
            return true;
        }
    }
}
