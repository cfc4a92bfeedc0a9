using System.Globalization;

namespace Pvmd.Core.Probe;

/// <summary>An inclusive range of integers.</summary>
public readonly record struct IntInterval(int Min, int Max)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Min}..{Max}");
}

/// <summary>An explicit target instead of the scratch child: the probe writes its patterns into
/// <see cref="RemoteAddress"/> of this process and restores the original bytes afterwards, so
/// the process should be stopped (SIGSTOP, ptrace) or cooperating (not touching that memory).</summary>
/// <param name="StartTime">The process's start time in clock ticks; 0 = do not check.</param>
/// <param name="RemoteAddress">Base of the range the probe may use: the buffer of a case with
/// misalignment r starts at RemoteAddress + 64 + r (page offset 64 + r when the address is
/// page-aligned), and the whole range [RemoteAddress, RemoteAddress + <see cref="ProbeSweep.RemoteBytes"/>)
/// must be mapped readable and writable.</param>
public sealed record ProbeTarget(int Pid, ulong StartTime, ulong RemoteAddress);

/// <summary>
/// What one run of the short-buffer probe covers. The defaults are the exhaustive sweep of
/// the design note: B 0..128, A 1..64, r 0..15, both ops, one iovec each side, the local
/// buffer short, a PROT_NONE guard, the daemon's scratch child as target (264,192 cases).
/// </summary>
public sealed record ProbeSweep
{
    /// <summary>Bytes around every buffer that the sentinel method watches.</summary>
    public const int Margin = 64;

    /// <summary>Pages of fully mapped memory a buffer that does not meet the break lives in.</summary>
    public const int FlatPages = 2;

    /// <summary>A bound on one request's work (at ~150,000 cases a second, about two minutes).</summary>
    public const long MaxCases = 1L << 24;

    public ProbeOp Op { get; init; } = ProbeOp.Both;

    /// <summary>B: bytes of the short buffer before the break.</summary>
    public IntInterval Before { get; init; } = new(0, 128);

    /// <summary>A: bytes of the short buffer after the break.</summary>
    public IntInterval After { get; init; } = new(1, 64);

    /// <summary>r: the fully mapped buffer starts at page offset 64 + r.</summary>
    public IntInterval Misalignment { get; init; } = new(0, 15);

    /// <summary>Extra B values (each below the page size), added to <see cref="Before"/>.</summary>
    public IReadOnlyList<int> SparseBefore { get; init; } = [];

    /// <summary>Extra A values (each below the page size), added to <see cref="After"/>.</summary>
    public IReadOnlyList<int> SparseAfter { get; init; } = [];

    public GuardKind Guard { get; init; } = GuardKind.ProtNone;

    public ProbeLayout Layout { get; init; } = ProbeLayout.Single;

    /// <summary>Ignored by <see cref="ProbeLayout.Rr"/>, whose cases fix their own short side.</summary>
    public ShortSide ShortSide { get; init; } = ShortSide.Local;

    /// <summary>null: the daemon's own scratch child.</summary>
    public ProbeTarget? Target { get; init; }

    /// <summary>Report EXACT cases too, not only the others.</summary>
    public bool IncludeExact { get; init; }

    /// <summary>Report progress every this many cases; 0 = never.</summary>
    public int ProgressEvery { get; init; }

    /// <summary>Checks every value against the page size; throws before anything is allocated
    /// or started.</summary>
    /// <exception cref="InvalidRequestException">with a sentence naming the bad value.</exception>
    public void Validate(int pageSize)
    {
        if (!Enum.IsDefined(Op))
        {
            throw new InvalidRequestException($"unknown probe op {(int)Op}");
        }
        if (!Enum.IsDefined(Guard))
        {
            throw new InvalidRequestException($"unknown guard kind {(int)Guard}");
        }
        if (!Enum.IsDefined(Layout))
        {
            throw new InvalidRequestException($"unknown probe layout {(int)Layout}");
        }
        if (!Enum.IsDefined(ShortSide))
        {
            throw new InvalidRequestException($"unknown short side {(int)ShortSide}");
        }
        if (ProgressEvery < 0)
        {
            throw new InvalidRequestException($"progress_every must not be negative, not {ProgressEvery}");
        }
        CheckInterval("before (B)", Before, 0, pageSize);
        CheckInterval("after (A)", After, 0, pageSize);
        CheckInterval("misalignment (r)", Misalignment, 0, pageSize);
        CheckSparse("sparse before (B)", SparseBefore, pageSize);
        CheckSparse("sparse after (A)", SparseAfter, pageSize);

        if (Layout != ProbeLayout.Rr)
        {
            var largest = RemoteBytes;
            if (largest > (long)FlatPages * pageSize)
            {
                throw new InvalidRequestException(
                    $"B + A + r is too large for the layout: the largest buffer ({MaxValue(Before, SparseBefore)} + {MaxValue(After, SparseAfter)} bytes "
                    + $"at page offset {Margin} + {Misalignment.Max}, plus {Margin} watched bytes after it) needs {largest} bytes, "
                    + $"more than the {FlatPages} pages ({FlatPages * pageSize} bytes) a fully mapped buffer has");
            }
        }
        var count = CaseCount();
        if (count > MaxCases)
        {
            throw new InvalidRequestException($"the sweep has {count} cases, more than the maximum of {MaxCases}");
        }

        if (Target is { } target)
        {
            if (target.Pid <= 0)
            {
                throw new InvalidRequestException($"target pid must be positive, not {target.Pid}");
            }
            if (target.RemoteAddress == 0)
            {
                throw new InvalidRequestException("an explicit target needs remote_address: the probe has no memory of its own there");
            }
            if (Layout == ProbeLayout.Rr)
            {
                throw new InvalidRequestException("the rr layouts need a guard page on the remote side, which only the scratch child has: omit the target");
            }
            if (ShortSide == ShortSide.Remote)
            {
                throw new InvalidRequestException("short side remote needs a guard page in the target, which only the scratch child has: omit the target");
            }
            if (target.RemoteAddress > ulong.MaxValue - (ulong)RemoteBytes)
            {
                throw new InvalidRequestException($"remote_address 0x{target.RemoteAddress:x} + {RemoteBytes} overflows");
            }
        }
    }

    /// <summary>Validates against this host's page size.</summary>
    public void Validate() => Validate(Host.HostFacts.PageSizeBytes);

    /// <summary>How many cases the sweep runs (each of them twice, once per sentinel).</summary>
    public long CaseCount()
    {
        long ops = Op == ProbeOp.Both ? 2 : 1;
        if (Layout == ProbeLayout.Rr)
        {
            return ops * RrLayouts.Cases.Count;
        }
        return ops * Values(Before, SparseBefore).Length * Values(After, SparseAfter).Length * Math.Max(0, Misalignment.Max - Misalignment.Min + 1);
    }

    /// <summary>Bytes the largest fully mapped buffer needs, watched margins included:
    /// 64 + r + B + A + 64. With an explicit target, the range that must be mapped.</summary>
    public long RemoteBytes => Margin + (long)Misalignment.Max + MaxValue(Before, SparseBefore) + MaxValue(After, SparseAfter) + Margin;

    /// <summary>The B values, ascending, without repeats.</summary>
    public int[] BeforeValues() => Values(Before, SparseBefore);

    /// <summary>The A values, ascending, without repeats.</summary>
    public int[] AfterValues() => Values(After, SparseAfter);

    private static void CheckInterval(string name, IntInterval interval, int lowest, int pageSize)
    {
        if (interval.Min < lowest || interval.Max < lowest)
        {
            throw new InvalidRequestException($"{name} must not be negative, not {interval}");
        }
        if (interval.Min > interval.Max)
        {
            throw new InvalidRequestException($"{name}: min {interval.Min} is above max {interval.Max}");
        }
        if (interval.Max >= pageSize)
        {
            throw new InvalidRequestException($"{name} must stay below the page size {pageSize}, not {interval}");
        }
    }

    private static void CheckSparse(string name, IReadOnlyList<int> values, int pageSize)
    {
        foreach (var value in values)
        {
            if (value < 0 || value >= pageSize)
            {
                throw new InvalidRequestException($"{name} value {value} must be in 0..{pageSize - 1}");
            }
        }
    }

    private static int MaxValue(IntInterval interval, IReadOnlyList<int> sparse)
    {
        var max = interval.Max;
        foreach (var value in sparse)
        {
            max = Math.Max(max, value);
        }
        return max;
    }

    private static int[] Values(IntInterval interval, IReadOnlyList<int> sparse)
    {
        var set = new SortedSet<int>(sparse);
        for (var value = interval.Min; value <= interval.Max; value++)
        {
            set.Add(value);
        }
        var result = new int[set.Count];
        set.CopyTo(result);
        return result;
    }
}
