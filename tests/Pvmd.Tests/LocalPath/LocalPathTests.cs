using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Client;
using Pvmd.Core.Memory;
using Pvmd.TestTarget;
using Pvmd.Tests.Infrastructure;
using Pvmd.Tests.Integration;
using Pvmd.V1;
using Lib = Pvmd.Client;
using Target = Pvmd.Tests.Infrastructure.TargetProcess;

namespace Pvmd.Tests.LocalPath;

/// <summary>
/// The node-local path (shared memory handed over the local socket) against the real daemon:
/// it gives exactly what gRPC gives, it is used by itself and left by itself, and its socket
/// serves only the holder of a fresh ticket.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class LocalPathTests : IClassFixture<LargeTargetFixture>, IDisposable
{
    private readonly DaemonFixture _daemon;
    private readonly Target _target;
    private readonly PvmdClient _local;
    private readonly PvmdClient _grpc;

    public LocalPathTests(DaemonFixture daemon, LargeTargetFixture target)
    {
        _daemon = daemon;
        _target = target.Target;
        _local = PvmdClient.ForSocket(daemon.SocketPath);
        _grpc = new PvmdClient(new PvmdClientOptions { SocketPath = daemon.SocketPath, UseLocalPath = false });
    }

    private Lib.TargetProcess Pinned => new(_target.Pid, _target.StartTime);

    private string LocalSocket => _daemon.SocketPath + ".local";

    public void Dispose()
    {
        _local.Dispose();
        _grpc.Dispose();
    }

    [Fact]
    public async Task Read_WithHolesAndVerify_GivesWhatGrpcGives()
    {
        var page = (ulong)_target.PageSize;
        Lib.MemoryRange[] ranges =
        [
            new(_target.Hole.Start + page - 8, page + 16),
            new(_target.ReadOnly.Start, 32),
            new(_target.ProtNone.Start + page - 4, 8),
            new(_target.Pattern.Start + 3, 10_000),
        ];

        var local = await _local.ReadAsync(Pinned, ranges, verify: true);
        var grpc = await _grpc.ReadAsync(Pinned, ranges, verify: true);

        Assert.True(_local.LocalPathUsed, _local.LocalPathUnavailableReason);
        Assert.False(_grpc.LocalPathUsed);
        Assert.Equal(grpc.Select(r => r.Result), local.Select(r => r.Result));
        Assert.Equal(grpc.Select(Bytes), local.Select(Bytes));
        Assert.Equal(V1.StopReason.Unmapped, local[0].Result.StopReason);
        Assert.Equal(16UL, local[0].Result.BytesRead);
    }

    [Fact]
    public async Task ReadInto_64MiB_ManyBatchesThroughTwoSlots_IsExact()
    {
        var pattern = _target.Pattern;
        var buffer = new byte[pattern.Length];

        var result = await _local.ReadIntoAsync(Pinned, pattern.Start, buffer);

        Assert.True(_local.LocalPathUsed);
        Assert.Equal(pattern.Length, result.BytesRead);
        Assert.Equal(0UL, result.UnreadableBytes);
        Assert.True(TestPattern.Bytes(TestPattern.PatternSeed, 0, buffer.Length).AsSpan().SequenceEqual(buffer), "the bytes differ from the target's pattern");
    }

    [Fact]
    public async Task ReadInto_OverGrpc_IsExactToo()
    {
        var pattern = _target.Pattern;
        var buffer = new byte[4 << 20];

        var result = await _grpc.ReadIntoAsync(Pinned, pattern.Start + 5, buffer);

        Assert.Equal((ulong)buffer.Length, result.BytesRead);
        Assert.True(TestPattern.Bytes(TestPattern.PatternSeed, 5, buffer.Length).AsSpan().SequenceEqual(buffer));
    }

    [Fact]
    public async Task ReadInto_AcrossAHole_LeavesTheHoleUntouchedAndReportsIt()
    {
        var page = (ulong)_target.PageSize;
        var buffer = Enumerable.Repeat((byte)0xEE, (int)(3 * page)).ToArray();

        var result = await _local.ReadIntoAsync(Pinned, _target.Hole.Start, buffer);

        Assert.Equal(V1.StopReason.Unmapped, result.StopReason);
        Assert.Equal(2 * page, result.BytesRead);
        Assert.All(buffer.Skip((int)page).Take((int)page), b => Assert.Equal(0xEE, b));
    }

    [Fact]
    public async Task Stream_AbandonedMidRead_TheNextReadWorks()
    {
        var pattern = _target.Pattern;
        await foreach (var response in _local.ReadStreamAsync(Pinned, [new(pattern.Start, pattern.Length)]))
        {
            Assert.NotEmpty(response.Chunks);
            break;
        }

        var again = await _local.ReadAsync(Pinned, pattern.Start, 64);

        Assert.True(again.IsComplete);
    }

    [Fact]
    public async Task Read_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        var pattern = _target.Pattern;
        var buffer = new byte[pattern.Length];
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _local.ReadIntoAsync(Pinned, pattern.Start, buffer, cancellationToken: cts.Token));
        Assert.True((await _local.ReadAsync(Pinned, pattern.Start, 64)).IsComplete);
    }

    [Fact]
    public async Task Read_CancelledBeforeItStarts_LeavesThePoolUsable()
    {
        using var client = PvmdClient.ForSocket(_daemon.SocketPath);
        var small = new byte[64];
        await client.ReadIntoAsync(Pinned, _target.Pattern.Start, small);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadIntoAsync(Pinned, _target.Pattern.Start, small, cancellationToken: cts.Token));
        var after = await client.ReadIntoAsync(Pinned, _target.Pattern.Start, small);

        Assert.Equal(64UL, after.BytesRead);
        Assert.True(TestPattern.Bytes(TestPattern.PatternSeed, 0, 64).AsSpan().SequenceEqual(small));
    }

    [Fact]
    public async Task LargeReads_CancelledBeforeTheyStart_LeakNoConnection()
    {
        // A daemon of its own: each leaked connection would hold one of its 64 sessions.
        await using var daemon = await DaemonFixture.StartAsync([]);
        using var client = PvmdClient.ForSocket(daemon.SocketPath);
        var small = new byte[64];
        var large = new byte[4 << 20];
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        for (var i = 0; i < 70; i++)
        {
            await client.ReadIntoAsync(Pinned, _target.Pattern.Start, small);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadIntoAsync(Pinned, _target.Pattern.Start, large, cancellationToken: cts.Token));
        }
        await client.ReadIntoAsync(Pinned, _target.Pattern.Start, small);

        Assert.Null(client.LocalPathUnavailableReason);
        Assert.DoesNotContain("connections already open", daemon.Log);
        // A leaked connection keeps its mapping of the daemon's memory (the socket's finalizer
        // closes the socket, nothing unmaps): 70 leaks would leave 70 mappings in this process.
        var mappings = File.ReadLines("/proc/self/maps").Count(line => line.Contains("memfd:pvmd-local-path", StringComparison.Ordinal));
        Assert.True(mappings < 40, $"{mappings} mappings of local-path memory in this process");
    }

    [Fact]
    public async Task Read_TargetGone_IsTargetNotFound_AsOverGrpc()
    {
        using var doomed = Target.Start();
        var pinned = new Lib.TargetProcess(doomed.Pid, doomed.StartTime);
        doomed.Kill();

        await Assert.ThrowsAsync<TargetNotFoundException>(() => _local.ReadAsync(pinned, doomed.Pattern.Start, 64));
        await Assert.ThrowsAsync<TargetNotFoundException>(() => _grpc.ReadAsync(pinned, doomed.Pattern.Start, 64));
    }

    [Fact]
    public async Task Read_BadRange_IsInvalidRequest_AsOverGrpc()
    {
        var error = await Assert.ThrowsAsync<Lib.InvalidRequestException>(() => _local.ReadAsync(Pinned, ulong.MaxValue - 4, 64));

        Assert.Contains("past the end of the address space", error.Message);
    }

    [Fact]
    public async Task LocalSocket_WithoutATicket_RefusesAndCloses()
    {
        using var socket = Connect();
        Send(socket, new LocalRequest { Read = new ReadRemoteRequest { Target = _target.Target, Ranges = { new V1.Range { Address = _target.Pattern.Start, Length = 64 } } } });

        var reply = Receive(socket);

        AssertRefused(reply, StatusCode.PermissionDenied, "LOCAL_PATH_TICKET");
        Assert.Null(Receive(socket));
    }

    [Fact]
    public async Task LocalSocket_ATicketWorksOnce()
    {
        using var channel = UnixSocketChannel.Create(_daemon.SocketPath);
        var client = new RemoteMemory.RemoteMemoryClient(channel);
        var grant = await client.OpenLocalPathAsync(new OpenLocalPathRequest());
        Assert.Equal(Path.GetFileName(LocalSocket), grant.SocketPath);

        using (var first = Connect())
        {
            Send(first, new LocalRequest { Hello = grant.Ticket });
            Assert.Equal(LocalReply.KindOneofCase.Ready, Receive(first)!.KindCase);
        }

        using var second = Connect();
        Send(second, new LocalRequest { Hello = grant.Ticket });
        AssertRefused(Receive(second), StatusCode.PermissionDenied, "LOCAL_PATH_TICKET");
    }

    [Fact]
    public async Task LocalSocket_AGarbledFrame_IsInvalidArgument_AndTheDaemonStaysHealthy()
    {
        using var channel = UnixSocketChannel.Create(_daemon.SocketPath);
        var grant = await new RemoteMemory.RemoteMemoryClient(channel).OpenLocalPathAsync(new OpenLocalPathRequest());
        using var socket = Connect();
        Send(socket, new LocalRequest { Hello = grant.Ticket });
        Assert.Equal(LocalReply.KindOneofCase.Ready, Receive(socket)!.KindCase);

        socket.Send([8, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);

        AssertRefused(Receive(socket), StatusCode.InvalidArgument, "INVALID_REQUEST");
        Assert.True((await _local.ReadAsync(Pinned, _target.Pattern.Start, 64)).IsComplete);
    }

    [Fact]
    public async Task LocalSocket_AnOversizedFrame_IsRefusedWithoutReadingIt()
    {
        using var channel = UnixSocketChannel.Create(_daemon.SocketPath);
        var grant = await new RemoteMemory.RemoteMemoryClient(channel).OpenLocalPathAsync(new OpenLocalPathRequest());
        using var socket = Connect();
        Send(socket, new LocalRequest { Hello = grant.Ticket });
        Assert.Equal(LocalReply.KindOneofCase.Ready, Receive(socket)!.KindCase);

        socket.Send(BitConverter.GetBytes(int.MaxValue));

        AssertRefused(Receive(socket), StatusCode.InvalidArgument, "INVALID_REQUEST");
    }

    [Fact]
    public void SharedBuffer_IsSealed_TheClientCannotShrinkIt()
    {
        using var shared = SharedBuffer.Create(2, 4096);
        shared.Slot(1, 4096).Span.Fill(7);

        Assert.Equal(-1, Pvmd.Core.Interop.Libc.Ftruncate(shared.Descriptor, 0));
        Assert.Equal(-1, Pvmd.Core.Interop.Libc.Ftruncate(shared.Descriptor, 1 << 20));
        Assert.Equal(7, shared.Slot(1, 4096).Span[4095]);
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        socket.Connect(new UnixDomainSocketEndPoint(LocalSocket));
        return socket;
    }

    private static void Send(Socket socket, LocalRequest request)
    {
        var frame = new byte[4 + request.CalculateSize()];
        BinaryPrimitives.WriteInt32LittleEndian(frame, frame.Length - 4);
        request.WriteTo(frame.AsSpan(4));
        socket.Send(frame);
    }

    private static LocalReply? Receive(Socket socket)
    {
        var header = new byte[4];
        if (!ReceiveExactly(socket, header))
        {
            return null;
        }
        var body = new byte[BinaryPrimitives.ReadInt32LittleEndian(header)];
        Assert.True(ReceiveExactly(socket, body), "the daemon closed the socket in the middle of a frame");
        return LocalReply.Parser.ParseFrom(body);
    }

    private static bool ReceiveExactly(Socket socket, byte[] buffer)
    {
        for (var offset = 0; offset < buffer.Length;)
        {
            var read = socket.Receive(buffer, offset, buffer.Length - offset, SocketFlags.None);
            if (read == 0)
            {
                return false;
            }
            offset += read;
        }
        return true;
    }

    private static void AssertRefused(LocalReply? reply, StatusCode code, string reason)
    {
        Assert.NotNull(reply);
        Assert.Equal(LocalReply.KindOneofCase.Error, reply.KindCase);
        var status = Google.Rpc.Status.Parser.ParseFrom(reply.Error);
        Assert.Equal((int)code, status.Code);
        var info = status.Details.Single().Unpack<Google.Rpc.ErrorInfo>();
        Assert.Equal(reason, info.Reason);
    }

    private static byte[] Bytes(RangeReadResult range) => [.. range.Chunks.SelectMany(c => c.Data.ToByteArray())];
}
