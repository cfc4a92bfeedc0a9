using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Pvmd.Client;
using Pvmd.V1;
using static Pvmd.Tests.Client.ReadResultAssemblerTests;

namespace Pvmd.Tests.Client;

/// <summary>The facade over a call invoker that answers from memory: requests built from the
/// arguments, streams assembled, failures typed.</summary>
public sealed class PvmdClientTests
{
    private static RpcException NotFound()
    {
        var info = new ErrorInfo { Domain = "pvmd.dev", Reason = "ESRCH" };
        info.Metadata["detail"] = "no process with pid 42";
        return new Google.Rpc.Status { Code = (int)Code.NotFound, Message = "no process with pid 42", Details = { Any.Pack(info) } }.ToRpcException();
    }

    [Fact]
    public async Task ReadAsync_SeveralRanges_ReturnsOneResultPerRangeInRequestOrder()
    {
        var invoker = new FakeCallInvoker
        {
            Stream =
            [
                new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1, 2), Chunk(1, 0x2000, 7) } },
                new ReadRemoteResponse { Chunks = { Chunk(0, 0x1002, 3) }, Results = { Result(0, 0x1000, 3, 3) } },
                new ReadRemoteResponse { Results = { Result(1, 0x2000, 1, 1) } },
            ],
        };
        using var client = new PvmdClient(invoker);

        var results = await client.ReadAsync(new TargetProcess(42, 99), [new MemoryRange(0x1000, 3), new MemoryRange(0x2000, 1)], verify: true);

        Assert.Equal([0, 1], results.Select(r => r.Index));
        Assert.Equal([1, 2, 3], results[0].Chunks.SelectMany(c => c.Data.ToByteArray()));
        var request = Assert.IsType<ReadRemoteRequest>(Assert.Single(invoker.Requests));
        Assert.Equal(42, request.Target.Pid);
        Assert.Equal(99UL, request.Target.StartTime);
        Assert.True(request.Verify);
        Assert.Equal(2, request.Ranges.Count);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsBeforeEveryRangeIsDone_Throws()
    {
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse { Chunks = { Chunk(0, 0x1000, 1) } }] };
        using var client = new PvmdClient(invoker);

        await Assert.ThrowsAsync<UnexpectedResponseException>(() => client.ReadAsync(new TargetProcess(42), 0x1000, 1));
    }

    [Theory]
    [InlineData(0x0FFFUL, 1)] // before the range
    [InlineData(0x1000UL, 17)] // longer than the range
    [InlineData(0x100FUL, 2)] // past its end
    public async Task ReadIntoAsync_BytesOutsideTheRange_AreRefusedNotCopied(ulong address, int length)
    {
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse { Chunks = { Chunk(0, address, [.. Enumerable.Repeat((byte)1, length)]) } }] };
        using var client = new PvmdClient(invoker);
        var destination = new byte[16];

        await Assert.ThrowsAsync<UnexpectedResponseException>(() => client.ReadIntoAsync(new TargetProcess(42), 0x1000, destination));
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task ReadIntoAsync_PutsEachChunkAtItsOffset()
    {
        var result = new RangeResult { RangeIndex = 0, Address = 0x1000, Length = 16, BytesRead = 4 };
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse { Chunks = { Chunk(0, 0x1004, 1, 1, 1, 1) }, Results = { result } }] };
        using var client = new PvmdClient(invoker);
        var destination = new byte[16];

        var answer = await client.ReadIntoAsync(new TargetProcess(42), 0x1000, destination);

        Assert.Equal(result, answer);
        Assert.Equal(new byte[16] { 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, destination);
    }

    [Fact]
    public async Task ReadStreamAsync_FailureMidStream_IsTyped()
    {
        var invoker = new FakeCallInvoker { Stream = [new ReadRemoteResponse()], StreamFailure = NotFound() };
        using var client = new PvmdClient(invoker, "unix:/tmp/test.sock");
        var seen = 0;

        var error = await Assert.ThrowsAsync<TargetNotFoundException>(async () =>
        {
            await foreach (var _ in client.ReadStreamAsync(new TargetProcess(42), [new MemoryRange(0x1000, 1)]))
            {
                seen++;
            }
        });

        Assert.Equal(1, seen);
        Assert.Equal("ESRCH", error.Reason);
    }

    [Fact]
    public async Task ReadAsync_NoRanges_IsRefusedBeforeAnyCall()
    {
        var invoker = new FakeCallInvoker();
        using var client = new PvmdClient(invoker);

        await Assert.ThrowsAsync<ArgumentException>(() => client.ReadAsync(new TargetProcess(42), []));
        Assert.Empty(invoker.Requests);
    }

    [Fact]
    public async Task GetPlatformAsync_Failure_IsTyped()
    {
        using var client = new PvmdClient(new FakeCallInvoker { Unary = _ => throw NotFound() });

        await Assert.ThrowsAsync<TargetNotFoundException>(() => client.GetPlatformAsync());
    }

    [Fact]
    public async Task ListProcessesAsync_Filter_BecomesTheRequest()
    {
        var invoker = new FakeCallInvoker { Unary = _ => new ListProcessesResponse { Processes = { new ProcessInfo { Pid = 7 } } } };
        using var client = new PvmdClient(invoker);

        var processes = await client.ListProcessesAsync(new ProcessFilter("nginx*", 0, "--conf"));

        Assert.Equal(7, processes.Single().Pid);
        var request = Assert.IsType<ListProcessesRequest>(invoker.Requests.Single());
        Assert.Equal("nginx*", request.Name);
        Assert.True(request.HasUid);
        Assert.Equal(0U, request.Uid);
        Assert.Equal("--conf", request.CmdlineContains);
    }

    [Fact]
    public async Task ListProcessesAsync_NoFilter_LeavesUidUnset()
    {
        var invoker = new FakeCallInvoker { Unary = _ => new ListProcessesResponse() };
        using var client = new PvmdClient(invoker);

        await client.ListProcessesAsync();

        Assert.False(Assert.IsType<ListProcessesRequest>(invoker.Requests.Single()).HasUid);
    }

    [Fact]
    public async Task WriteAsync_Arguments_BecomeTheRequest()
    {
        var invoker = new FakeCallInvoker { Unary = _ => new WriteRemoteResponse { SyscallReturned = 2 } };
        using var client = new PvmdClient(invoker);

        var response = await client.WriteAsync(new TargetProcess(42), 0x1000, new byte[] { 0x90, 0xcc }, verify: true, force: true);

        Assert.Equal(2UL, response.SyscallReturned);
        var request = Assert.IsType<WriteRemoteRequest>(invoker.Requests.Single());
        Assert.Equal(0x1000UL, request.Address);
        Assert.Equal([0x90, 0xcc], request.Data.ToByteArray());
        Assert.True(request.Verify);
        Assert.True(request.Force);
    }

    [Fact]
    public async Task ProbeAsync_YieldsEveryMessage()
    {
        var invoker = new FakeCallInvoker
        {
            Stream =
            [
                new ProbeResponse { Case = new ProbeCase { Class = CaseClass.ShortClean } },
                new ProbeResponse { Progress = new ProbeProgress { Done = 1, Total = 2 } },
                new ProbeResponse { Summary = new ProbeSummary { Total = 2 } },
            ],
        };
        using var client = new PvmdClient(invoker);

        var kinds = new List<ProbeResponse.KindOneofCase>();
        await foreach (var response in client.ProbeAsync(new ProbeRequest()))
        {
            kinds.Add(response.KindCase);
        }

        Assert.Equal([ProbeResponse.KindOneofCase.Case, ProbeResponse.KindOneofCase.Progress, ProbeResponse.KindOneofCase.Summary], kinds);
    }
}
