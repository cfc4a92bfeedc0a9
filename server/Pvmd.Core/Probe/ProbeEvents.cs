using Pvmd.Core.Host;

namespace Pvmd.Core.Probe;

/// <summary>What a probe run reports, in order: case records and progress as they come,
/// then exactly one <see cref="ProbeSummary"/>.</summary>
public abstract record ProbeEvent;

/// <summary>Cases done so far, of the total.</summary>
public sealed record ProbeProgress(long Done, long Total) : ProbeEvent;

/// <summary>One case: its inputs, what both runs returned and what they really changed.</summary>
public sealed record ProbeCaseRecord : ProbeEvent
{
    /// <summary><see cref="ProbeOp.Readv"/> or <see cref="ProbeOp.Writev"/>.</summary>
    public required ProbeOp Op { get; init; }

    public required ProbeLayout Layout { get; init; }

    public required GuardKind Guard { get; init; }

    public required ShortSide ShortSide { get; init; }

    /// <summary>The rr layout's name; empty for the other layouts.</summary>
    public required string LayoutName { get; init; }

    /// <summary>B, A: bytes of the short buffer before and after the break.</summary>
    public required int Before { get; init; }

    public required int After { get; init; }

    public required int Misalignment { get; init; }

    public required CaseMeasurement Measurement { get; init; }

    /// <summary>The stretches behind <see cref="CaseMeasurement.ModifiedBeyondRet"/>.</summary>
    public required IReadOnlyList<OffsetRange> ModifiedBeyondRanges { get; init; }

    /// <summary>writev only: the daemon's source buffer changed.</summary>
    public required bool SourceChanged { get; init; }

    public CaseClass Class => Measurement.Class;
}

/// <summary>The end of a run.</summary>
/// <param name="Counts">Cases per class; every class is present, most with 0.</param>
public sealed record ProbeSummary(
    long Total,
    IReadOnlyDictionary<CaseClass, long> Counts,
    double ElapsedSeconds,
    int TargetPid,
    HostFacts Host) : ProbeEvent;
