using System.Diagnostics;
using System.Runtime.InteropServices;
using Pvmd.Core.Host;
using Pvmd.Core.Interop;
using Pvmd.Core.Memory;

namespace Pvmd.Core.Probe;

/// <summary>
/// Runs the cases of one sweep against one target, one case per step, and yields only what
/// must be reported. Every buffer is mmap'd: the local arena (with its guard), and a scratch
/// mapping for the pattern image, the sentinel images, the two snapshots and, for an explicit
/// target, the bytes to restore. The loop allocates nothing for a case that is not reported.
/// </summary>
internal sealed unsafe class ProbeEngine : IDisposable
{
    private const int Margin = ProbeSweep.Margin;
    private const int GatherBytes = 64;

    private readonly ProbeSweep _sweep;
    private readonly TargetHandle _target;
    private readonly int _pid;
    private readonly ProbeArenaLayout _layout;
    private readonly MappedArena _local;
    private readonly byte* _localBase;
    // The target's arena base. For an explicit target only the flat area is real: the base
    // is placed so that its start anchor is the caller's remote address.
    private readonly nuint _remoteBase;
    private readonly bool _isScratchChild;
    // With the munmap guard: the holes this sweep's short buffers run into.
    private readonly bool _checkLocalHole;
    private readonly bool _checkRemoteHole;
    private readonly long _remoteBytes;

    private readonly nint _scratch;
    private readonly nuint _scratchBytes;
    private readonly byte* _pattern;
    private readonly byte* _firstFill;
    private readonly byte* _secondFill;
    private readonly byte* _firstSnapshot;
    private readonly byte* _secondSnapshot;
    private readonly byte* _gather;
    private readonly byte* _probeByte;
    private readonly byte* _saved;
    private bool _savedValid;
    private bool _disposed;

    private readonly ProbeOp[] _ops;
    private readonly int[] _befores;
    private readonly int[] _afters;
    private readonly long _total;
    private readonly long[] _counts = new long[Enum.GetValues<CaseClass>().Length];
    private readonly List<OffsetRange> _ranges = [];
    private readonly Stopwatch _stopwatch = new();

    private bool _started;
    private bool _finished;
    private bool _summarySent;
    private int _opIndex;
    private int _beforeIndex;
    private int _afterIndex;
    private int _misalignment;
    private int _fixedIndex;
    private long _done;
    private ProbeProgress? _pendingProgress;

    private ProbeEngine(ProbeSweep sweep, int pageSize, TargetHandle target, ulong remoteBase, bool isScratchChild)
    {
        _sweep = sweep;
        _target = target;
        _pid = target.Pid;
        _layout = new ProbeArenaLayout(pageSize);
        _remoteBase = (nuint)remoteBase;
        _isScratchChild = isScratchChild;
        _remoteBytes = sweep.RemoteBytes;
        var munmap = sweep.Guard == GuardKind.Munmap;
        _checkLocalHole = munmap && (sweep.Layout == ProbeLayout.Rr || sweep.ShortSide == ShortSide.Local);
        _checkRemoteHole = munmap && isScratchChild && (sweep.Layout == ProbeLayout.Rr || sweep.ShortSide == ShortSide.Remote);
        _ops = sweep.Op switch
        {
            ProbeOp.Readv => [ProbeOp.Readv],
            ProbeOp.Writev => [ProbeOp.Writev],
            _ => [ProbeOp.Readv, ProbeOp.Writev],
        };
        _befores = sweep.BeforeValues();
        _afters = sweep.AfterValues();
        _total = sweep.CaseCount();

        _local = MappedArena.Create(pageSize, sweep.Guard);
        _localBase = _local.Base;

        var window = _layout.FlatBytes + (2 * Margin);
        var bytes = _layout.TotalBytes + (4 * window) + GatherBytes + 1 + (isScratchChild ? 0 : (int)_remoteBytes);
        _scratchBytes = (nuint)((bytes + pageSize - 1) / pageSize * pageSize);
        _scratch = Libc.Mmap(0, _scratchBytes, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if (_scratch == Libc.MapFailed)
        {
            var errno = Marshal.GetLastPInvokeError();
            _scratch = 0;
            _local.Dispose();
            throw new SystemCallException("mmap", errno);
        }
        var cursor = (byte*)_scratch;
        _pattern = Take(ref cursor, _layout.TotalBytes);
        _firstFill = Take(ref cursor, window);
        _secondFill = Take(ref cursor, window);
        _firstSnapshot = Take(ref cursor, window);
        _secondSnapshot = Take(ref cursor, window);
        _gather = Take(ref cursor, GatherBytes);
        _probeByte = Take(ref cursor, 1);
        _saved = isScratchChild ? null : Take(ref cursor, (int)_remoteBytes);

        ProbePattern.Fill(new Span<byte>(_pattern, _layout.TotalBytes), 0);
        new Span<byte>(_firstFill, window).Fill(ProbePattern.FirstSentinel);
        new Span<byte>(_secondFill, window).Fill(ProbePattern.SecondSentinel);
    }

    /// <summary>The engine for the scratch child, whose arena mirrors the local one.</summary>
    public static ProbeEngine ForScratchChild(ProbeSweep sweep, int pageSize, TargetHandle target, ulong arenaBase) =>
        new(sweep, pageSize, target, arenaBase, isScratchChild: true);

    /// <summary>The engine for an explicit target; saves the bytes it will overwrite first.</summary>
    public static ProbeEngine ForExplicitTarget(ProbeSweep sweep, int pageSize, TargetHandle target, ulong remoteAddress)
    {
        var startOffset = (ulong)new ProbeArenaLayout(pageSize).StartOffset;
        var engine = new ProbeEngine(sweep, pageSize, target, remoteAddress - startOffset, isScratchChild: false);
        try
        {
            engine.CopyExact(write: false, engine._saved, engine.RemoteAt(engine._layout.StartOffset), (int)engine._remoteBytes, "saving the target's bytes");
            engine._savedValid = true;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
        return engine;
    }

    /// <summary>Runs cases until one must be reported; after the last case, the summary once,
    /// then null. Cancellation is honoured between cases.</summary>
    public ProbeEvent? Next(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_pendingProgress is { } progress)
            {
                _pendingProgress = null;
                return progress;
            }
            if (_finished)
            {
                if (_summarySent)
                {
                    return null;
                }
                _summarySent = true;
                return Summary();
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (!Advance())
            {
                _finished = true;
                _stopwatch.Stop();
                continue;
            }
            var record = _sweep.Layout == ProbeLayout.Rr
                ? RunFixed(_ops[_opIndex], RrLayouts.Cases[_fixedIndex])
                : RunSweepCase(_ops[_opIndex], _befores[_beforeIndex], _afters[_afterIndex], _misalignment);
            _done++;
            if (_sweep.ProgressEvery > 0 && _done % _sweep.ProgressEvery == 0)
            {
                _pendingProgress = new ProbeProgress(_done, _total);
            }
            if (record is not null)
            {
                return record;
            }
        }
    }

    private ProbeSummary Summary()
    {
        var counts = new Dictionary<CaseClass, long>();
        foreach (var klass in Enum.GetValues<CaseClass>())
        {
            counts[klass] = _counts[(int)klass];
        }
        return new ProbeSummary(_done, counts, _stopwatch.Elapsed.TotalSeconds, _pid, HostFacts.Current);
    }

    /// <summary>Moves to the next case: misalignment fastest, then A, then B, then op.</summary>
    private bool Advance()
    {
        if (!_started)
        {
            _started = true;
            _stopwatch.Start();
            _misalignment = _sweep.Misalignment.Min;
            BeginOp();
            EnsureGuardHoles();
            return true;
        }
        if (_sweep.Layout == ProbeLayout.Rr)
        {
            if (++_fixedIndex < RrLayouts.Cases.Count)
            {
                return true;
            }
            _fixedIndex = 0;
        }
        else
        {
            if (++_misalignment <= _sweep.Misalignment.Max)
            {
                return true;
            }
            _misalignment = _sweep.Misalignment.Min;
            if (++_afterIndex < _afters.Length)
            {
                return true;
            }
            _afterIndex = 0;
            if (++_beforeIndex < _befores.Length)
            {
                return true;
            }
            _beforeIndex = 0;
        }
        if (++_opIndex < _ops.Length)
        {
            BeginOp();
            return true;
        }
        return false;
    }

    /// <summary>Puts the pattern into every buffer the op reads from: the target's for readv,
    /// the daemon's for writev. Destinations get their sentinels per run.</summary>
    private void BeginOp()
    {
        if (_ops[_opIndex] == ProbeOp.Readv)
        {
            if (_isScratchChild)
            {
                WritePattern(_layout.StartOffset, _layout.FlatBytes);
                WritePattern(_layout.BreakAreaOffset, _layout.BreakOffset - _layout.BreakAreaOffset);
            }
            else
            {
                WritePattern(_layout.StartOffset, (int)_remoteBytes);
            }
        }
        else
        {
            var length = _layout.BreakOffset - _layout.StartOffset;
            new ReadOnlySpan<byte>(_pattern + _layout.StartOffset, length).CopyTo(new Span<byte>(_localBase + _layout.StartOffset, length));
        }
    }

    private void WritePattern(int offset, int length) =>
        CopyExact(write: true, _pattern + offset, RemoteAt(offset), length, "writing the source pattern");

    private ProbeCaseRecord? RunSweepCase(ProbeOp op, int before, int after, int misalignment)
    {
        var length = before + after;
        var shortLocal = _sweep.ShortSide == ShortSide.Local;
        var split = _sweep.Layout == ProbeLayout.Split;
        var shortOffset = _layout.BreakOffset - before;
        var flatOffset = _layout.StartOffset + Margin + misalignment;
        var localOffset = shortLocal ? shortOffset : flatOffset;
        var remoteOffset = shortLocal ? flatOffset : shortOffset;

        Span<IoVec> local = stackalloc IoVec[2];
        Span<IoVec> remote = stackalloc IoVec[2];
        var localCount = Cut(local, (nuint)(_localBase + localOffset), length, split && shortLocal ? before / 2 : -1);
        var remoteCount = Cut(remote, RemoteAt(remoteOffset), length, split && !shortLocal ? before / 2 : -1);

        var destinationIsLocal = op == ProbeOp.Readv;
        var destinationIsShort = destinationIsLocal == shortLocal;
        var destinationOffset = destinationIsLocal ? localOffset : remoteOffset;
        var sourceOffset = destinationIsLocal ? remoteOffset : localOffset;
        Span<DestinationSegment> segments = stackalloc DestinationSegment[2];
        var segmentCount = 1;
        if (destinationIsShort && split)
        {
            segments[0] = new DestinationSegment(0, before / 2);
            segments[1] = new DestinationSegment(before / 2, length - (before / 2));
            segmentCount = 2;
        }
        else
        {
            segments[0] = new DestinationSegment(0, length);
        }
        // The short buffer is watched up to the break; a fully mapped one 64 bytes past its end.
        var visible = destinationIsShort ? before : length + Margin;
        Span<DestinationSegment> sourceRanges = stackalloc DestinationSegment[1];
        sourceRanges[0] = new DestinationSegment(localOffset, shortLocal ? before : length);

        var spec = new CaseSpec
        {
            Op = op,
            Layout = _sweep.Layout,
            ShortSide = _sweep.ShortSide,
            Name = "",
            Before = before,
            After = after,
            Misalignment = misalignment,
            Local = local[..localCount],
            Remote = remote[..remoteCount],
            DestinationIsLocal = destinationIsLocal,
            WindowOffset = destinationOffset - Margin,
            WindowLength = Margin + visible,
            Segments = segments[..segmentCount],
            Expected = new ReadOnlySpan<byte>(_pattern + sourceOffset, before),
            ExpectedRet = before,
            SourceRanges = sourceRanges,
        };
        return Execute(ref spec);
    }

    /// <summary>A buffer as one iovec, or as two cut at <paramref name="cut"/> (-1: uncut).</summary>
    private static int Cut(Span<IoVec> iovecs, nuint address, int length, int cut)
    {
        if (cut < 0)
        {
            iovecs[0] = new IoVec(address, (nuint)length);
            return 1;
        }
        iovecs[0] = new IoVec(address, (nuint)cut);
        iovecs[1] = new IoVec(address + (nuint)cut, (nuint)(length - cut));
        return 2;
    }

    private ProbeCaseRecord? RunFixed(ProbeOp op, FixedLayout layout)
    {
        var destinationIsLocal = op == ProbeOp.Readv;
        var destinationIsShort = layout.DestinationIsShort;
        Span<IoVec> local = stackalloc IoVec[layout.Destination.Length + layout.Source.Length];
        Span<IoVec> remote = stackalloc IoVec[local.Length];
        Span<DestinationSegment> segments = stackalloc DestinationSegment[layout.Destination.Length];
        Span<DestinationSegment> sourceRanges = stackalloc DestinationSegment[layout.Source.Length];
        var localCount = 0;
        var remoteCount = 0;

        var low = int.MaxValue;
        var high = int.MinValue;
        foreach (var iovec in layout.Destination)
        {
            low = Math.Min(low, ArenaOffset(iovec));
            high = Math.Max(high, ArenaOffset(iovec) + iovec.Length);
        }
        for (var i = 0; i < layout.Destination.Length; i++)
        {
            var iovec = layout.Destination[i];
            segments[i] = new DestinationSegment(ArenaOffset(iovec) - low, iovec.Length);
            Add(destinationIsLocal, ArenaOffset(iovec), iovec.Length, local, ref localCount, remote, ref remoteCount);
        }
        var gathered = 0;
        for (var i = 0; i < layout.Source.Length; i++)
        {
            var iovec = layout.Source[i];
            var offset = ArenaOffset(iovec);
            Add(!destinationIsLocal, offset, iovec.Length, local, ref localCount, remote, ref remoteCount);
            // Only what lies before the break is readable, and it is all a correct kernel copies.
            var readable = Math.Max(0, Math.Min(iovec.Length, _layout.BreakOffset - offset));
            var take = Math.Min(readable, GatherBytes - gathered);
            new ReadOnlySpan<byte>(_pattern + offset, take).CopyTo(new Span<byte>(_gather + gathered, take));
            gathered += take;
            sourceRanges[i] = new DestinationSegment(offset, readable);
        }
        Debug.Assert(gathered >= layout.ExpectedRet, "a fixed layout's expected count exceeds its readable source");
        var visibleEnd = destinationIsShort ? Math.Min(high, _layout.BreakOffset) : high + Margin;
        var (before, after) = layout.AroundBreak();
        var spec = new CaseSpec
        {
            Op = op,
            Layout = ProbeLayout.Rr,
            ShortSide = destinationIsShort == destinationIsLocal ? ShortSide.Local : ShortSide.Remote,
            Name = layout.Name,
            Before = before,
            After = after,
            Misalignment = 0,
            Local = local[..localCount],
            Remote = remote[..remoteCount],
            DestinationIsLocal = destinationIsLocal,
            WindowOffset = low - Margin,
            WindowLength = visibleEnd - (low - Margin),
            Segments = segments,
            Expected = new ReadOnlySpan<byte>(_gather, gathered),
            ExpectedRet = layout.ExpectedRet,
            SourceRanges = sourceRanges,
        };
        return Execute(ref spec);
    }

    private int ArenaOffset(AnchoredIovec iovec) =>
        (iovec.Anchor == Anchor.Break ? _layout.BreakOffset : _layout.StartOffset) + iovec.Offset;

    private void Add(bool toLocal, int offset, int length, Span<IoVec> local, ref int localCount, Span<IoVec> remote, ref int remoteCount)
    {
        if (toLocal)
        {
            local[localCount++] = new IoVec((nuint)(_localBase + offset), (nuint)length);
        }
        else
        {
            remote[remoteCount++] = new IoVec(RemoteAt(offset), (nuint)length);
        }
    }

    private nuint RemoteAt(int offset) => _remoteBase + (nuint)offset;

    /// <summary>Everything one case needs, described over the arena offsets both sides share.</summary>
    private ref struct CaseSpec
    {
        public ProbeOp Op;
        public ProbeLayout Layout;
        public ShortSide ShortSide;
        public string Name;
        public int Before;
        public int After;
        public int Misalignment;
        public ReadOnlySpan<IoVec> Local;
        public ReadOnlySpan<IoVec> Remote;
        public bool DestinationIsLocal;
        // The watched window of the destination: 64 bytes before the buffer, the buffer as far
        // as it is accessible, and 64 bytes after it when it does not meet the break.
        public int WindowOffset;
        public int WindowLength;
        public ReadOnlySpan<DestinationSegment> Segments;
        public ReadOnlySpan<byte> Expected;
        public long ExpectedRet;
        // writev: the daemon's source bytes (arena offset, length) that must not change.
        public ReadOnlySpan<DestinationSegment> SourceRanges;
    }

    private ProbeCaseRecord? Execute(ref CaseSpec spec)
    {
        var first = RunOnce(ref spec, ProbePattern.FirstSentinel, _firstFill, _firstSnapshot);
        var second = RunOnce(ref spec, ProbePattern.SecondSentinel, _secondFill, _secondSnapshot);
        // The holes were checked before the first case and after every case since, so a
        // mapping that was there during these runs and is still there is caught now.
        EnsureGuardHoles();

        var measurement = CaseClassifier.Measure(
            new ReadOnlySpan<byte>(_firstSnapshot, spec.WindowLength),
            new ReadOnlySpan<byte>(_secondSnapshot, spec.WindowLength),
            Margin,
            spec.Segments,
            spec.Expected,
            first,
            second,
            spec.ExpectedRet,
            _ranges);
        var sourceChanged = spec.Op == ProbeOp.Writev && !RestoreSource(spec.SourceRanges);
        var klass = measurement.Class;
        _counts[(int)klass]++;
        if (klass == CaseClass.Exact && !sourceChanged && !_sweep.IncludeExact)
        {
            return null;
        }
        return new ProbeCaseRecord
        {
            Op = spec.Op,
            Layout = spec.Layout,
            Guard = _sweep.Guard,
            ShortSide = spec.ShortSide,
            LayoutName = spec.Name,
            Before = spec.Before,
            After = spec.After,
            Misalignment = spec.Misalignment,
            Measurement = measurement,
            ModifiedBeyondRanges = _ranges.Count == 0 ? [] : _ranges.ToArray(),
            SourceChanged = sourceChanged,
        };
    }

    private RunResult RunOnce(ref CaseSpec spec, byte sentinel, byte* fill, byte* snapshot)
    {
        RunResult result;
        if (spec.DestinationIsLocal)
        {
            var window = new Span<byte>(_localBase + spec.WindowOffset, spec.WindowLength);
            window.Fill(sentinel);
            result = Transfer(spec.Op, spec.Local, spec.Remote);
            window.CopyTo(new Span<byte>(snapshot, spec.WindowLength));
        }
        else
        {
            var window = RemoteAt(spec.WindowOffset);
            CopyExact(write: true, fill, window, spec.WindowLength, "resetting the target's buffer");
            result = Transfer(spec.Op, spec.Local, spec.Remote);
            CopyExact(write: false, snapshot, window, spec.WindowLength, "reading the target's buffer back");
        }
        return result;
    }

    /// <summary>The transfer under test. Its failures are results, except those that say the
    /// call never ran on the target.</summary>
    private RunResult Transfer(ProbeOp op, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote)
    {
        nint ret;
        int errno;
        fixed (IoVec* localIovecs = local)
        fixed (IoVec* remoteIovecs = remote)
        {
            if (op == ProbeOp.Readv)
            {
                ret = Libc.ProcessVmReadv(_pid, localIovecs, (nuint)local.Length, remoteIovecs, (nuint)remote.Length, 0);
                errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            else
            {
                ret = Libc.ProcessVmWritev(_pid, localIovecs, (nuint)local.Length, remoteIovecs, (nuint)remote.Length, 0);
                errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
        }
        if (ret < 0 && errno is Errno.ESRCH or Errno.EPERM or Errno.EACCES or Errno.EINVAL or Errno.ENOSYS)
        {
            throw _target.ErrorFor(op == ProbeOp.Readv ? "process_vm_readv" : "process_vm_writev", errno);
        }
        return new RunResult(ret, errno);
    }

    /// <summary>A transfer over memory that is fully mapped on both sides: anything but the
    /// whole length means the probe's own assumptions broke.</summary>
    private void CopyExact(bool write, byte* local, nuint remote, int length, string purpose)
    {
        var localIovec = new IoVec((nuint)local, (nuint)length);
        var remoteIovec = new IoVec(remote, (nuint)length);
        nint ret;
        int errno;
        if (write)
        {
            ret = Libc.ProcessVmWritev(_pid, &localIovec, 1, &remoteIovec, 1, 0);
            errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        else
        {
            ret = Libc.ProcessVmReadv(_pid, &localIovec, 1, &remoteIovec, 1, 0);
            errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        if (ret == length)
        {
            return;
        }
        if (ret < 0 && errno != Errno.EFAULT)
        {
            throw _target.ErrorFor(write ? "process_vm_writev" : "process_vm_readv", errno);
        }
        throw new ProbeAbortedException(
            $"{purpose}: {(write ? "process_vm_writev" : "process_vm_readv")} of {length} bytes at 0x{(ulong)remote:x} in pid {_pid} "
            + (ret < 0 ? $"failed with {Errno.Name(errno)}" : $"copied only {ret}") + ", although that memory should be mapped");
    }

    /// <summary>With the munmap guard, the holes must still be holes: the runtime maps memory
    /// from other threads, in the daemon and in the scratch child.</summary>
    private void EnsureGuardHoles()
    {
        if (_checkLocalHole && !_local.GuardIsStillAHole())
        {
            throw new ProbeAbortedException("another thread mapped memory into the probe's guard hole: results from here on would be wrong");
        }
        if (!_checkRemoteHole)
        {
            return;
        }
        var localIovec = new IoVec((nuint)_probeByte, 1);
        var remoteIovec = new IoVec(RemoteAt(_layout.BreakOffset), 1);
        var ret = Libc.ProcessVmReadv(_pid, &localIovec, 1, &remoteIovec, 1, 0);
        var errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (ret >= 0)
        {
            throw new ProbeAbortedException($"memory appeared in the guard hole of the scratch child (pid {_pid}): results from here on would be wrong");
        }
        if (errno != Errno.EFAULT)
        {
            throw _target.ErrorFor("process_vm_readv", errno);
        }
    }

    /// <summary>True when the daemon's source bytes still hold the pattern; otherwise puts
    /// the pattern back for the next case and returns false.</summary>
    private bool RestoreSource(ReadOnlySpan<DestinationSegment> ranges)
    {
        var intact = true;
        foreach (var range in ranges)
        {
            var expected = new ReadOnlySpan<byte>(_pattern + range.Offset, range.Length);
            var actual = new Span<byte>(_localBase + range.Offset, range.Length);
            if (!actual.SequenceEqual(expected))
            {
                intact = false;
                expected.CopyTo(actual);
            }
        }
        return intact;
    }

    private static byte* Take(ref byte* cursor, int length)
    {
        var start = cursor;
        // 64-byte steps keep every buffer on its own cache lines.
        cursor += (length + 63) & ~63;
        return start;
    }

    /// <summary>Puts an explicit target's bytes back, then unmaps everything.</summary>
    /// <exception cref="ProbeAbortedException">the target still runs but its bytes could not be restored.</exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            if (_savedValid)
            {
                _savedValid = false;
                RestoreTarget();
            }
        }
        finally
        {
            if (_scratch != 0)
            {
                Libc.Munmap(_scratch, _scratchBytes);
            }
            _local.Dispose();
        }
    }

    private void RestoreTarget()
    {
        var localIovec = new IoVec((nuint)_saved, (nuint)_remoteBytes);
        var remoteIovec = new IoVec(RemoteAt(_layout.StartOffset), (nuint)_remoteBytes);
        var ret = Libc.ProcessVmWritev(_pid, &localIovec, 1, &remoteIovec, 1, 0);
        var errno = ret < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (ret == _remoteBytes || (ret < 0 && errno == Errno.ESRCH) || !_target.IsAlive())
        {
            return;
        }
        throw new ProbeAbortedException(
            $"could not restore {_remoteBytes} bytes at 0x{(ulong)RemoteAt(_layout.StartOffset):x} in pid {_pid} "
            + (ret < 0 ? $"({Errno.Name(errno)})" : $"(only {ret} written)") + ": its memory there now holds the probe's patterns");
    }
}
