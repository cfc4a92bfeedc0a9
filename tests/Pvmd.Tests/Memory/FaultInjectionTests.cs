using Pvmd.Core.Host;
using Pvmd.Core.Interop;
using Pvmd.Core.Memory;

namespace Pvmd.Tests.Memory;

/// <summary>The engine's fault injection, on this process's own memory: a readable page
/// followed by a PROT_NONE page, read across the break.</summary>
public sealed unsafe class FaultInjectionTests : IDisposable
{
    private readonly int _pageSize = HostFacts.PageSizeBytes;
    private readonly nint _mapping;

    public FaultInjectionTests()
    {
        _mapping = Libc.Mmap(0, (nuint)(2 * _pageSize), Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        Assert.NotEqual(Libc.MapFailed, _mapping);
        new Span<byte>((void*)_mapping, _pageSize).Fill(0x11);
        Assert.Equal(0, Libc.Mprotect(_mapping + _pageSize, (nuint)_pageSize, Libc.ProtNone));
    }

    public void Dispose() => Libc.Munmap(_mapping, (nuint)(2 * _pageSize));

    /// <summary>64 bytes before the break and 64 after it.</summary>
    private MemoryRange AcrossTheBreak => new((ulong)(_mapping + _pageSize - 64), 128);

    [Fact]
    public void Without_injection_a_verified_short_read_is_exact()
    {
        var (outcome, _) = Read(AcrossTheBreak, faults: null);

        Assert.Equal(64UL, outcome.Check!.Returned);
        Assert.Equal(64UL, outcome.Check.Actual);
        Assert.False(outcome.Check.Mismatch);
        Assert.False(outcome.Check.Injected);
    }

    [Fact]
    public void Injected_bytes_past_the_count_are_found_by_the_check_and_labelled()
    {
        var (outcome, batches) = Read(AcrossTheBreak, new FaultInjection(8, Reads: true, Probe: false));

        Assert.Equal(64UL, outcome.BytesRead);
        Assert.Equal(64UL, outcome.Check!.Returned);
        Assert.Equal(72UL, outcome.Check.Actual);
        Assert.Equal(8UL, outcome.Check.ChangedBeyondReturned);
        Assert.Equal(71, outcome.Check.LastModifiedOffset);
        Assert.True(outcome.Check.Mismatch);
        Assert.True(outcome.Check.Injected);
        var batch = batches[0];
        Assert.Equal(128UL, batch.Requested);
        Assert.Equal(64, batch.Returned);
        Assert.True(batch.Check!.Injected);
        // The delivered bytes are the target's, untouched by the injection.
        Assert.All(batch.Pieces.SelectMany(p => p.Data.ToArray()), b => Assert.Equal(0x11, b));
    }

    [Fact]
    public void A_read_the_kernel_completes_has_no_room_for_injected_bytes()
    {
        var (outcome, _) = Read(new MemoryRange((ulong)_mapping, 256), new FaultInjection(8, Reads: true, Probe: false));

        Assert.False(outcome.Check!.Mismatch);
        Assert.False(outcome.Check.Injected);
    }

    [Fact]
    public void Injection_scoped_to_the_probe_leaves_reads_alone()
    {
        var (outcome, _) = Read(AcrossTheBreak, new FaultInjection(8, Reads: false, Probe: true));

        Assert.False(outcome.Check!.Mismatch);
    }

    private static (RangeOutcome Outcome, List<ReadBatch> Batches) Read(MemoryRange range, FaultInjection? faults)
    {
        using var self = TargetHandle.Open(Environment.ProcessId);
        var batches = new RemoteReader(new TransferLimits(), faults).Read(self, [range], verify: true, CancellationToken.None).ToList();
        return (batches.SelectMany(b => b.Completed).Single(), batches);
    }
}
