using Google.Protobuf;
using Pvmd.Cli.Formatting;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Cli;

/// <summary>Raw output: readable bytes in request order, holes on stderr.</summary>
public sealed class RawReadWriterTests
{
    private static Chunk Chunk(uint index, ulong address, params byte[] data) =>
        new() { RangeIndex = index, Address = address, Data = ByteString.CopyFrom(data) };

    [Fact]
    public async Task AddAsync_LaterRangesChunksFirst_AreWrittenInRequestOrder()
    {
        using var output = new MemoryStream();
        var error = new StringWriter();
        var writer = new RawReadWriter(output, error, rangeCount: 2);

        await writer.AddAsync(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1), Chunk(1, 0x2000, 9) } }, default);
        await writer.AddAsync(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1001, 2) }, Results = { new RangeResult { RangeIndex = 0 } } }, default);
        await writer.AddAsync(new ReadRemoteResponse { Results = { new RangeResult { RangeIndex = 1 } } }, default);
        writer.Complete();

        Assert.Equal([1, 2, 9], output.ToArray());
        Assert.False(writer.HadHoles);
        Assert.Empty(error.ToString());
    }

    [Fact]
    public async Task AddAsync_Hole_IsReportedOnStderrAndNotWritten()
    {
        using var output = new MemoryStream();
        var error = new StringWriter();
        var writer = new RawReadWriter(output, error, rangeCount: 1);
        var result = new RangeResult { RangeIndex = 0 };
        result.Holes.Add(new Hole { Address = 0x2000, Length = 4096, Reason = StopReason.Unmapped });

        await writer.AddAsync(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1ffe, 1, 2) }, Results = { result } }, default);

        Assert.Equal([1, 2], output.ToArray());
        Assert.True(writer.HadHoles);
        Assert.Equal("pvmctl: range 0: 0x0000000000002000 4096 bytes unreadable (unmapped)", error.ToString().Trim());
    }

    [Fact]
    public async Task AddAsync_FailedCheck_IsReported()
    {
        var error = new StringWriter();
        var writer = new RawReadWriter(Stream.Null, error, rangeCount: 1);
        var result = new RangeResult { RangeIndex = 0, Check = new TransferCheck { Returned = 4, Actual = 6, ChangedBeyondReturned = 2, Mismatch = true } };

        await writer.AddAsync(new ReadRemoteResponse { Results = { result } }, default);

        Assert.True(writer.HadMismatch);
        Assert.Contains("MISMATCH", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_BeforeEveryRangeIsDone_Throws()
    {
        var writer = new RawReadWriter(Stream.Null, new StringWriter(), rangeCount: 2);
        await writer.AddAsync(new ReadRemoteResponse { Results = { new RangeResult { RangeIndex = 0 } } }, default);

        Assert.Throws<UnexpectedResponseException>(writer.Complete);
    }

    [Fact]
    public async Task AddAsync_ChunkForAFinishedRange_Throws()
    {
        var writer = new RawReadWriter(Stream.Null, new StringWriter(), rangeCount: 1);
        await writer.AddAsync(new ReadRemoteResponse { Results = { new RangeResult { RangeIndex = 0 } } }, default);

        await Assert.ThrowsAsync<UnexpectedResponseException>(() => writer.AddAsync(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1) } }, default));
    }
}
