namespace Pvmd.Bench.Scenarios;

/// <summary>How much each path moves. Full mode measures; quick mode (CI) only proves that
/// every path works and returns the right bytes, with small sizes and every byte checked.</summary>
internal sealed record BenchSettings
{
    private const ulong MiB = 1 << 20;

    public required bool Quick { get; init; }

    /// <summary>Size of the target's bulk region, in MiB: the largest read.</summary>
    public required int RegionMib { get; init; }

    /// <summary>The smaller bulk read (and the gdbserver comparison's size).</summary>
    public required ulong BulkSmall { get; init; }

    public required ulong BulkLarge { get; init; }

    public required int BulkSmallRepeats { get; init; }

    public required int BulkLargeRepeats { get; init; }

    /// <summary>Passes of the in-process syscall over the whole region.</summary>
    public required int SyscallPasses { get; init; }

    public required int SyscallCalls { get; init; }

    public required int GrpcCalls { get; init; }

    public required int Warmup { get; init; }

    /// <summary>Calls of 1,000 ranges each, against one round of 1,000 single calls per
    /// <see cref="ScatterSingleRounds"/>.</summary>
    public required int ScatterCalls { get; init; }

    public required int ScatterSingleRounds { get; init; }

    public required ulong WriteBytes { get; init; }

    public required int WriteRepeats { get; init; }

    /// <summary>The probe's default sweep, or (quick) its 8-case RR layout.</summary>
    public required bool FullProbe { get; init; }

    public required int ConcurrentStreams { get; init; }

    public required ulong ConcurrentStreamBytes { get; init; }

    public required ulong GdbBytes { get; init; }

    public required int GdbCalls { get; init; }

    /// <summary>Compare every byte with the target's pattern (always for 64-byte reads).</summary>
    public bool CheckEveryByte => Quick;

    public static BenchSettings Full { get; } = new()
    {
        Quick = false,
        RegionMib = 1024,
        BulkSmall = 64 * MiB,
        BulkLarge = 1024 * MiB,
        BulkSmallRepeats = 8,
        BulkLargeRepeats = 2,
        SyscallPasses = 3,
        SyscallCalls = 100_000,
        GrpcCalls = 3000,
        Warmup = 300,
        ScatterCalls = 20,
        ScatterSingleRounds = 3,
        WriteBytes = 64 * MiB,
        WriteRepeats = 3,
        FullProbe = true,
        ConcurrentStreams = 16,
        ConcurrentStreamBytes = 1024 * MiB,
        GdbBytes = 64 * MiB,
        GdbCalls = 2000,
    };

    public static BenchSettings QuickCheck { get; } = new()
    {
        Quick = true,
        RegionMib = 64,
        BulkSmall = 16 * MiB,
        BulkLarge = 64 * MiB,
        BulkSmallRepeats = 1,
        BulkLargeRepeats = 1,
        SyscallPasses = 1,
        SyscallCalls = 10_000,
        GrpcCalls = 200,
        Warmup = 50,
        ScatterCalls = 3,
        ScatterSingleRounds = 1,
        WriteBytes = 16 * MiB,
        WriteRepeats = 1,
        FullProbe = false,
        ConcurrentStreams = 16,
        ConcurrentStreamBytes = 16 * MiB,
        GdbBytes = 4 * MiB,
        GdbCalls = 200,
    };

    /// <summary>"64 MiB", "1 GiB", "64 B".</summary>
    public static string Size(ulong bytes) =>
        bytes >= 1 << 30 && bytes % (1 << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= MiB && bytes % MiB == 0 ? $"{bytes >> 20} MiB"
        : bytes >= 1024 && bytes % 1024 == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes} B";
}
