using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Core.Memory;
using Pvmd.Server.Telemetry;
using Pvmd.V1;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    /// <summary>Streams one message per syscall batch: its bytes (wrapped, not copied: each
    /// batch has a buffer of its own) and the ranges it finished. Each batch (each step of the
    /// engine's enumeration) is a child span of the RPC's span.</summary>
    public override async Task ReadRemote(ReadRemoteRequest request, IServerStreamWriter<ReadRemoteResponse> responseStream, ServerCallContext context)
    {
        var rpc = Activity.Current;
        var ranges = ProtoMapping.ToRanges(request);
        // Validate before pinning the target: a malformed request costs nothing.
        _limits.ValidateRead(ranges);
        using var target = ProtoMapping.Open(request.Target);
        _telemetry.OnRpc(rpc, target.Pid);
        var reader = new RemoteReader(_limits, _faults);
        using var batches = reader.Read(target, ranges, request.Verify, context.CancellationToken).GetEnumerator();
        while (true)
        {
            var start = _telemetry.SyscallStart();
            try
            {
                if (!batches.MoveNext())
                {
                    break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _telemetry.OnSyscallFailed(TelemetryNames.ReadSpan, "read", target.Pid, e, start);
                throw;
            }
            var batch = batches.Current;
            _telemetry.OnReadBatch(rpc, target.Pid, batch, start);
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
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }
}
