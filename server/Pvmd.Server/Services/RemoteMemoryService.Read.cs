using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Core.Memory;
using Pvmd.Server.Telemetry;
using Pvmd.V1;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    /// <summary>Streams one message per syscall batch: its bytes (wrapped, not copied) and the
    /// ranges it finished. The next batch is read on another thread while this one is written,
    /// so the syscall and the transport overlap instead of taking turns. Two pooled buffers
    /// take turns: a message's bytes are copied into the transport before its write completes,
    /// and a batch is read into the buffer of the message before the one being written. Each
    /// batch (each step of the engine's enumeration) is a child span of the RPC's span.</summary>
    public override async Task ReadRemote(ReadRemoteRequest request, IServerStreamWriter<ReadRemoteResponse> responseStream, ServerCallContext context)
    {
        var rpc = Activity.Current;
        var ranges = ProtoMapping.ToRanges(request);
        // Validated before any buffer is rented: a malformed request costs no memory.
        _limits.ValidateRead(ranges);
        using var target = ProtoMapping.Open(request.Target, context);
        _telemetry.OnRpc(rpc, target.Pid);
        var reader = new RemoteReader(_limits, _faults);
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(_limits.ChunkBytes), ArrayPool<byte>.Shared.Rent(_limits.ChunkBytes)];
        var batchCount = 0;
        using var batches = reader.Read(target, ranges, request.Verify, context.CancellationToken, length => buffers[batchCount++ % 2].AsMemory(0, length)).GetEnumerator();

        ReadBatch? Step() => _telemetry.NextBatch(batches, rpc, target.Pid);

        var next = Task.FromResult(Step());
        try
        {
            while (await next is { } batch)
            {
                next = batch.IsLast ? Task.FromResult<ReadBatch?>(null) : Task.Run(Step);
                await responseStream.WriteAsync(ToResponse(batch), context.CancellationToken);
            }
        }
        finally
        {
            // The enumerator is disposed on the way out, and the buffers go back to the pool:
            // never while a read-ahead still uses them.
            await next.ContinueWith(static _ => { }, TaskScheduler.Default);
            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }
    }

    private static ReadRemoteResponse ToResponse(ReadBatch batch)
    {
        var response = new ReadRemoteResponse();
        foreach (var piece in batch.Pieces)
        {
            response.Chunks.Add(new Chunk
            {
                RangeIndex = (uint)piece.RangeIndex,
                Address = piece.Address,
                Data = UnsafeByteOperations.UnsafeWrap(piece.Data),
            });
        }
        foreach (var outcome in batch.Completed)
        {
            response.Results.Add(ProtoMapping.ToProto(outcome));
        }
        return response;
    }
}
