using Pvmd.Core.Memory;
using Pvmd.Core.Probe;

namespace Pvmd.Tests.Probe;

/// <summary>The probe's fault injection against the real kernel: the chosen cases are
/// classified with a count lowered by the extra bytes, and say they were injected.</summary>
[Collection(ProbeKernelCollection.Name)]
public sealed class ProbeFaultInjectionTests
{
    private static readonly ProbeSweep s_sweep = new() { Op = ProbeOp.Readv, Before = new(0, 15), After = new(1, 1), Misalignment = new(0, 0) };

    [Fact]
    public async Task Injected_cases_are_short_dirty_by_the_extra_bytes_and_labelled()
    {
        // Arrange: every second case, 4 bytes.
        var faults = new FaultInjection(4, Reads: false, Probe: true, ProbeEvery: 2);

        // Act
        var (records, summary) = await Run(faults);

        // Assert: cases 0, 2, 4 ... (B = 0, 2, 4, ...); B = 0 has nothing to lower.
        var injected = records.Where(r => r.Injected).ToList();
        Assert.Equal([2, 4, 6, 8, 10, 12, 14], injected.Select(r => r.Before));
        Assert.All(injected, r =>
        {
            Assert.Equal(CaseClass.ShortDirty, r.Class);
            Assert.Equal(Math.Max(0, r.Before - 4), r.Measurement.First.Ret);
            Assert.Equal(r.Before, r.Measurement.ModifiedCount);
            Assert.Equal(Math.Min(4, r.Before), r.Measurement.ModifiedBeyondRet);
        });
        Assert.All(records.Where(r => !r.Injected && r.Before > 0), r => Assert.NotEqual(CaseClass.ShortDirty, r.Class));
        Assert.Equal(7, summary.Counts[CaseClass.ShortDirty]);
    }

    [Fact]
    public async Task Without_injection_no_case_says_injected()
    {
        var (records, _) = await Run(faults: null);

        Assert.DoesNotContain(records, r => r.Injected);
    }

    private static async Task<(List<ProbeCaseRecord> Records, ProbeSummary Summary)> Run(FaultInjection? faults)
    {
        var records = new List<ProbeCaseRecord>();
        ProbeSummary? summary = null;
        await foreach (var probeEvent in ShortBufferProbe.RunAsync(s_sweep, ProbeEnvironment.ScratchChild(), faults: faults))
        {
            if (probeEvent is ProbeCaseRecord record)
            {
                records.Add(record);
            }
            else if (probeEvent is ProbeSummary last)
            {
                summary = last;
            }
        }
        return (records, summary!);
    }
}
