using Pvmd.Core.Procfs;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Range = Pvmd.V1.Range;

namespace Pvmd.Tests.Integration;

/// <summary>Reads that cross the whole layout, reads of memory the target has just unmapped,
/// and reads running side by side.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ReadLayoutTests
{
    private readonly DaemonFixture _daemon;

    public ReadLayoutTests(DaemonFixture daemon) => _daemon = daemon;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Read_SpanningEveryRegion_DeliversEveryReadableByteAndNamesEveryHole(bool verify)
    {
        using var target = TargetProcess.Start();
        var start = target.Pattern.Start;
        var end = target.Scratch.End;
        var maps = ProcMaps.Read(target.Pid);
        var (readable, holes) = Expected(maps, start, end);

        var outcome = await ReadOutcome.ReadAsync(_daemon.Client, new ReadRemoteRequest
        {
            Target = target.Target,
            Ranges = { new Range { Address = start, Length = end - start } },
            Verify = verify,
        });

        var result = outcome[0].Result!;
        Assert.Equal(readable, Expect.Covered(outcome[0]));
        Assert.Equal(holes, result.Holes.Select(h => (h.Address, h.Length, h.Reason)));
        var readableBytes = readable.Aggregate(0UL, (sum, r) => sum + r.Length);
        Assert.Equal(readableBytes, result.BytesRead);
        Assert.Equal(readableBytes, result.SyscallReturned);
        Assert.Equal(end - start - readableBytes, result.UnreadableBytes);
        Assert.Equal(holes[0].Address, result.StopAddress);
        Assert.Equal(holes[0].Reason, result.StopReason);
        foreach (var (region, seed) in new[] { (target.Pattern, TestPattern.PatternSeed), (target.Hole, TestPattern.HoleSeed), (target.ProtNone, TestPattern.ProtNoneSeed), (target.ReadOnly, TestPattern.ReadOnlySeed) })
        {
            var inRegion = new RangeOutcome();
            inRegion.Chunks.AddRange(outcome[0].Chunks.Where(c => c.Address >= region.Start && c.Address < region.End));
            Expect.Chunks(inRegion, region.Start, region.Length, region, seed);
        }
        Assert.All(outcome[0].Chunks.Where(c => c.Address >= target.Scratch.Start), c => Assert.True(c.Data.All(b => b == 0)));
        if (verify)
        {
            Assert.NotNull(result.Check);
            Assert.Equal(readableBytes, result.Check.Returned);
            Assert.Equal(readableBytes, result.Check.Actual);
            Assert.False(result.Check.Mismatch);
        }
    }

    [Fact]
    public async Task Read_AfterTheTargetUnmapsARegion_ReportsItUnmapped()
    {
        using var target = TargetProcess.Start(patternPages: 2);
        var before = await ReadAsync(target, target.Pattern.Start, target.Pattern.Length);

        target.Unmap("pattern");
        var after = await ReadAsync(target, target.Pattern.Start, target.Pattern.Length);

        Assert.Equal(target.Pattern.Length, before[0].Result!.BytesRead);
        var result = after[0].Result!;
        Assert.Equal(0UL, result.BytesRead);
        Assert.Equal(target.Pattern.Length, result.UnreadableBytes);
        Assert.Equal(target.Pattern.Start, result.StopAddress);
        Assert.Equal(StopReason.Unmapped, result.StopReason);
        var hole = Assert.Single(result.Holes);
        Assert.Equal((target.Pattern.Start, target.Pattern.Length, StopReason.Unmapped), (hole.Address, hole.Length, hole.Reason));
        Assert.DoesNotContain(after[0].Chunks, c => c.Data.Length > 0);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(0xffff_8000_0000_0000UL)]
    public async Task Read_WhereNothingCanBeMapped_IsOneUnmappedHole(ulong address)
    {
        using var target = TargetProcess.Start(patternPages: 1);

        var outcome = await ReadAsync(target, address, 4096);

        var result = outcome[0].Result!;
        Assert.Equal(0UL, result.BytesRead);
        Assert.Equal(4096UL, result.UnreadableBytes);
        Assert.Equal(address, result.StopAddress);
        Assert.Equal(StopReason.Unmapped, result.StopReason);
        var hole = Assert.Single(result.Holes);
        Assert.Equal((address, 4096UL, StopReason.Unmapped), (hole.Address, hole.Length, hole.Reason));
    }

    [Fact]
    public async Task Reads_InParallel_AreEachExact()
    {
        using var target = TargetProcess.Start(patternPages: 64);
        var pattern = target.Pattern;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            ReadAsync(target, pattern.Start + (ulong)(i * 4093), pattern.Length - (ulong)(i * 4093))));

        for (var i = 0; i < outcomes.Length; i++)
        {
            var address = pattern.Start + (ulong)(i * 4093);
            var length = pattern.Length - (ulong)(i * 4093);
            ReadRemoteTests.AssertComplete(outcomes[i][0].Result, 0, address, length);
            Expect.Chunks(outcomes[i][0], address, length, pattern, TestPattern.PatternSeed);
        }
    }

    private Task<ReadOutcome> ReadAsync(TargetProcess target, ulong address, ulong length) =>
        ReadOutcome.ReadAsync(_daemon.Client, new ReadRemoteRequest { Target = target.Target, Ranges = { new Range { Address = address, Length = length } } });

    /// <summary>From the maps: the readable stretches of [start, end), and the holes between
    /// them (PROTECTION where a mapping forbids reading, UNMAPPED where there is none).</summary>
    private static (List<(ulong Start, ulong Length)> Readable, List<(ulong Address, ulong Length, StopReason Reason)> Holes) Expected(ProcMaps maps, ulong start, ulong end)
    {
        var readable = new List<(ulong Start, ulong Length)>();
        var holes = new List<(ulong Address, ulong Length, StopReason Reason)>();
        var cursor = start;
        foreach (var region in maps.Regions.Where(r => r.End > start && r.Start < end))
        {
            var from = Math.Max(region.Start, start);
            var to = Math.Min(region.End, end);
            if (from > cursor)
            {
                holes.Add((cursor, from - cursor, StopReason.Unmapped));
            }
            if (region.CanRead)
            {
                readable.Add((from, to - from));
            }
            else
            {
                holes.Add((from, to - from, StopReason.Protection));
            }
            cursor = to;
        }
        if (cursor < end)
        {
            holes.Add((cursor, end - cursor, StopReason.Unmapped));
        }
        return (readable, holes);
    }
}
