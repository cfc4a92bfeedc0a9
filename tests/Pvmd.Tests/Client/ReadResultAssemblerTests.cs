using Google.Protobuf;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Client;

/// <summary>Grouping a read stream into per-range results, and refusing streams that break the contract.</summary>
public sealed class ReadResultAssemblerTests
{
    internal static Chunk Chunk(uint index, ulong address, params byte[] data) =>
        new() { RangeIndex = index, Address = address, Data = ByteString.CopyFrom(data) };

    internal static RangeResult Result(uint index, ulong address, ulong length, ulong read) =>
        new() { RangeIndex = index, Address = address, Length = length, BytesRead = read, SyscallReturned = read, UnreadableBytes = length - read };

    [Fact]
    public void Add_ChunksOverSeveralMessages_AreKeptInOrderWithTheirRange()
    {
        var assembler = new ReadResultAssembler(2);

        var first = assembler.Add(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1, 2) } });
        var second = assembler.Add(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1002, 3), Chunk(1, 0x5000, 9) }, Results = { Result(0, 0x1000, 3, 3) } });
        var third = assembler.Add(new ReadRemoteResponse { Results = { Result(1, 0x5000, 1, 1) } });
        assembler.Complete();

        Assert.Empty(first);
        var range0 = Assert.Single(second);
        Assert.Equal([0x1000UL, 0x1002UL], range0.Chunks.Select(c => c.Address));
        Assert.True(range0.IsComplete);
        var range1 = Assert.Single(third);
        Assert.Equal(1, range1.Index);
        Assert.Equal(9, range1.Chunks.Single().Data[0]);
    }

    [Fact]
    public void Add_RangeWithoutChunks_HasAnEmptyChunkList()
    {
        var assembler = new ReadResultAssembler(1);
        var result = Result(0, 0x1000, 4096, 0);
        result.Holes.Add(new Hole { Address = 0x1000, Length = 4096, Reason = StopReason.Unmapped });

        var done = assembler.Add(new ReadRemoteResponse { Results = { result } });

        Assert.Empty(done.Single().Chunks);
        Assert.False(done.Single().IsComplete);
    }

    [Fact]
    public void Add_ChunkAfterItsRangesResult_Throws()
    {
        var assembler = new ReadResultAssembler(1);
        assembler.Add(new ReadRemoteResponse { Results = { Result(0, 0x1000, 1, 0) } });

        Assert.Throws<UnexpectedResponseException>(() => assembler.Add(new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1) } }));
    }

    [Fact]
    public void Add_IndexNotInTheRequest_Throws()
    {
        var assembler = new ReadResultAssembler(1);

        Assert.Throws<UnexpectedResponseException>(() => assembler.Add(new ReadRemoteResponse { Chunks = { Chunk(1, 0x1000, 1) } }));
    }

    [Fact]
    public void Add_RangeCompletedTwice_Throws()
    {
        var assembler = new ReadResultAssembler(1);
        assembler.Add(new ReadRemoteResponse { Results = { Result(0, 0x1000, 1, 0) } });

        Assert.Throws<UnexpectedResponseException>(() => assembler.Add(new ReadRemoteResponse { Results = { Result(0, 0x1000, 1, 0) } }));
    }

    [Fact]
    public void Complete_WithAnUnfinishedRange_Throws()
    {
        var assembler = new ReadResultAssembler(2);
        assembler.Add(new ReadRemoteResponse { Results = { Result(0, 0x1000, 1, 0) } });

        var error = Assert.Throws<UnexpectedResponseException>(assembler.Complete);
        Assert.Contains("range 1", error.Message, StringComparison.Ordinal);
    }
}
