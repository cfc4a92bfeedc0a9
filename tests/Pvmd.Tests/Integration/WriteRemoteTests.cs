using Google.Protobuf;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Integration;

/// <summary>WriteRemote, checked from the target's own side with its <c>dump</c> command.
/// The tests share one target and each writes to its own part of it, so their order does
/// not matter.</summary>
[Collection(DaemonCollection.Name)]
public sealed class WriteRemoteTests : IClassFixture<TargetFixture>
{
    private readonly DaemonFixture _daemon;
    private readonly TargetProcess _target;
    private readonly ulong _page;

    public WriteRemoteTests(DaemonFixture daemon, TargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
        _page = (ulong)_target.PageSize;
    }

    [Fact]
    public async Task Write_Scratch_ChangesExactlyThoseBytesInTheTarget()
    {
        var address = _target.Scratch.Start + 0x100;
        var data = NonZeroData(100, salt: 1);

        var response = await WriteAsync(address, data);

        AssertWhole(response, data.Length);
        Assert.Null(response.Check);
        var page = _target.Dump(_target.Scratch.Start, 0x400);
        Assert.Equal(data, page[0x100..0x164]);
        Assert.Equal(new byte[0x100], page[..0x100]);
        Assert.Equal(new byte[0x400 - 0x164], page[0x164..]);
    }

    [Fact]
    public async Task Write_WithVerify_ReportsEveryChangedByteExactly()
    {
        var address = _target.Scratch.Start + 0x600;
        var data = NonZeroData(64, salt: 2);

        var response = await WriteAsync(address, data, verify: true);

        AssertWhole(response, data.Length);
        var check = response.Check;
        Assert.NotNull(check);
        Assert.Equal(64UL, check.BytesChanged);
        Assert.Equal(0, check.FirstChangedOffset);
        Assert.Equal(-1, check.FirstDifferingOffset);
        Assert.False(check.ChangedBeyondReturned);
        Assert.Equal(0UL, check.ChangedBeyondReturnedCount);
        Assert.Equal(0UL, check.UnwrittenBelowReturned);
        Assert.False(check.Mismatch);
        Assert.Equal(data, _target.Dump(address, data.Length));
    }

    [Fact]
    public async Task Write_WithVerify_OfBytesAlreadyThere_ChangesNothing()
    {
        var address = _target.Scratch.Start + 0x800;
        var data = NonZeroData(32, salt: 3);
        await WriteAsync(address, data);

        var response = await WriteAsync(address, data, verify: true);

        AssertWhole(response, data.Length);
        var check = response.Check!;
        Assert.Equal(0UL, check.BytesChanged);
        Assert.Equal(-1, check.FirstChangedOffset);
        Assert.Equal(-1, check.FirstDifferingOffset);
        Assert.False(check.Mismatch);
    }

    [Fact]
    public async Task Write_ReadOnlyPage_WithoutForce_WritesNothingAndStopsWithProtection()
    {
        var address = _target.ReadOnly.Start + 0x10;
        var before = _target.Dump(_target.ReadOnly.Start, 0x40);

        var response = await WriteAsync(address, NonZeroData(16, salt: 4));

        Assert.Equal(0UL, response.SyscallReturned);
        Assert.True(response.HasStopAddress, $"a refused write must say where it stopped: {response}");
        Assert.Equal(address, response.StopAddress);
        Assert.Equal(StopReason.Protection, response.StopReason);
        Assert.Equal(before, _target.Dump(_target.ReadOnly.Start, 0x40));
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0, 0x40), before);
    }

    [Fact]
    public async Task Write_ReadOnlyPage_WithoutForce_WithVerify_ReportsNoChange()
    {
        var address = _target.ReadOnly.Start + 0x100;

        var data = Different(TestPattern.ReadOnlySeed, 0x100, 16);

        var response = await WriteAsync(address, data, verify: true);

        Assert.Equal(0UL, response.SyscallReturned);
        Assert.Equal(StopReason.Protection, response.StopReason);
        var check = response.Check!;
        Assert.Equal(0UL, check.BytesChanged);
        Assert.Equal(-1, check.FirstChangedOffset);
        // Offsets count over the whole data: none of it arrived.
        Assert.Equal(0, check.FirstDifferingOffset);
        Assert.Equal(0UL, check.UnwrittenBelowReturned);
        Assert.False(check.ChangedBeyondReturned);
        Assert.False(check.Mismatch);
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0x100, 16), _target.Dump(address, 16));
    }

    [Fact]
    public async Task Write_ReadOnlyPage_WithForce_WritesThroughTheProtection()
    {
        var address = _target.ReadOnly.Start + 0x200;
        var data = Different(TestPattern.ReadOnlySeed, 0x200, 16);

        var response = await WriteAsync(address, data, force: true);

        AssertWhole(response, data.Length);
        Assert.Equal(data, _target.Dump(address, data.Length));
        // The bytes around it are untouched.
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0x1F0, 16), _target.Dump(address - 16, 16));
        Assert.Equal(TestPattern.Bytes(TestPattern.ReadOnlySeed, 0x210, 16), _target.Dump(address + 16, 16));
    }

    [Fact]
    public async Task Write_ReadOnlyPage_WithForceAndVerify_ReportsEveryChangedByte()
    {
        var address = _target.ReadOnly.Start + 0x400;
        var data = Different(TestPattern.ReadOnlySeed, 0x400, 24);

        var response = await WriteAsync(address, data, verify: true, force: true);

        AssertWhole(response, data.Length);
        var check = response.Check!;
        Assert.Equal(24UL, check.BytesChanged);
        Assert.Equal(0, check.FirstChangedOffset);
        Assert.Equal(-1, check.FirstDifferingOffset);
        Assert.False(check.ChangedBeyondReturned);
        Assert.Equal(0UL, check.UnwrittenBelowReturned);
        Assert.False(check.Mismatch);
        Assert.Equal(data, _target.Dump(address, data.Length));
    }

    [Fact]
    public async Task Write_RunningIntoProtNone_WritesThePrefixAndStopsAtTheGuard()
    {
        var guard = _target.ProtNone.Start + _page;
        var data = Different(TestPattern.ProtNoneSeed, _page - 8, 8).Concat(NonZeroData(8, salt: 6)).ToArray();

        var response = await WriteAsync(guard - 8, data);

        Assert.Equal(8UL, response.SyscallReturned);
        Assert.Equal(guard, response.StopAddress);
        Assert.Equal(StopReason.Protection, response.StopReason);
        Assert.Equal(data[..8], _target.Dump(guard - 8, 8));
        Assert.Equal(TestPattern.Bytes(TestPattern.ProtNoneSeed, _page - 24, 16), _target.Dump(guard - 24, 16));
    }

    [Fact]
    public async Task Write_RunningIntoUnmappedPage_WithVerify_WritesThePrefixAndStopsAtTheHole()
    {
        var hole = _target.Hole.Start + _page;
        var data = Different(TestPattern.HoleSeed, _page - 8, 8).Concat(NonZeroData(8, salt: 7)).ToArray();

        var response = await WriteAsync(hole - 8, data, verify: true);

        Assert.Equal(8UL, response.SyscallReturned);
        Assert.Equal(hole, response.StopAddress);
        Assert.Equal(StopReason.Unmapped, response.StopReason);
        var check = response.Check!;
        Assert.Equal(8UL, check.BytesChanged);
        Assert.Equal(0, check.FirstChangedOffset);
        // Offsets count over the whole data: the first byte that did not arrive is the 9th.
        Assert.Equal(8, check.FirstDifferingOffset);
        Assert.False(check.ChangedBeyondReturned);
        Assert.Equal(0UL, check.UnwrittenBelowReturned);
        Assert.False(check.Mismatch);
        Assert.Equal(data[..8], _target.Dump(hole - 8, 8));
        Assert.Equal(TestPattern.Bytes(TestPattern.HoleSeed, 2 * _page, 16), _target.Dump(hole + _page, 16));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_IntoUnmappedPage_WritesNothingAndStopsAtTheAddressWithUnmapped(bool force)
    {
        var address = _target.Hole.Start + _page + 0x20;

        var response = await WriteAsync(address, NonZeroData(16, salt: 8), force: force);

        Assert.Equal(0UL, response.SyscallReturned);
        Assert.True(response.HasStopAddress, $"{response}");
        Assert.Equal(address, response.StopAddress);
        Assert.Equal(StopReason.Unmapped, response.StopReason);
    }

    [Fact]
    public async Task Write_AcrossPatternPages_WithVerify_ChangesExactlyTheData()
    {
        // Two page boundaries inside one write.
        var offset = _page - 100;
        var length = (int)_page + 200;
        var address = _target.Pattern.Start + offset;
        var data = Different(TestPattern.PatternSeed, offset, length);

        var response = await WriteAsync(address, data, verify: true);

        AssertWhole(response, length);
        var check = response.Check!;
        Assert.Equal((ulong)length, check.BytesChanged);
        Assert.Equal(0, check.FirstChangedOffset);
        Assert.Equal(-1, check.FirstDifferingOffset);
        Assert.False(check.Mismatch);
        Assert.Equal(data, _target.Dump(address, length));
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, offset - 64, 64), _target.Dump(address - 64, 64));
        Assert.Equal(TestPattern.Bytes(TestPattern.PatternSeed, offset + (ulong)length, 64), _target.Dump(address + (ulong)length, 64));
    }

    private async Task<WriteRemoteResponse> WriteAsync(ulong address, byte[] data, bool verify = false, bool force = false) =>
        await _daemon.Client.WriteRemoteAsync(
            new WriteRemoteRequest
            {
                Target = _target.Target,
                Address = address,
                Data = ByteString.CopyFrom(data),
                Verify = verify,
                Force = force,
            },
            deadline: DateTime.UtcNow.AddSeconds(30));

    private static void AssertWhole(WriteRemoteResponse response, int length)
    {
        Assert.True((ulong)length == response.SyscallReturned, $"short write: {response}");
        Assert.False(response.HasStopAddress, $"a whole write has no stop address: {response}");
        Assert.Equal(StopReason.Unspecified, response.StopReason);
    }

    /// <summary>Bytes that are never zero, so each one changes a zeroed scratch byte.</summary>
    private static byte[] NonZeroData(int length, uint salt) => TestPattern.Bytes(100 + salt, 0, length);

    /// <summary>Bytes that differ, each one, from what the region holds there.</summary>
    private static byte[] Different(uint seed, ulong offset, int length) =>
        [.. TestPattern.Bytes(seed, offset, length).Select(b => (byte)~b)];
}
