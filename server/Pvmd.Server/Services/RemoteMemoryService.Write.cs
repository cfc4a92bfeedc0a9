using Grpc.Core;
using Pvmd.Core.Memory;
using Pvmd.V1;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    public override Task<WriteRemoteResponse> WriteRemote(WriteRemoteRequest request, ServerCallContext context)
    {
        _limits.ValidateWrite(request.Address, request.Data.Length);
        using var target = ProtoMapping.Open(request.Target);
        var outcome = new RemoteWriter(_limits).Write(target, request.Address, request.Data.Span, request.Verify, request.Force);
        var response = new WriteRemoteResponse { SyscallReturned = outcome.Returned };
        if (outcome.Stop is { } stop)
        {
            response.StopAddress = stop.Address;
            response.StopReason = ProtoMapping.ToProto(stop.Reason);
        }
        if (outcome.Check is { } check)
        {
            response.Check = new V1.WriteCheck
            {
                BytesChanged = check.BytesChanged,
                FirstChangedOffset = check.FirstChangedOffset,
                FirstDifferingOffset = check.FirstDifferingOffset,
                ChangedBeyondReturned = check.ChangedBeyondReturned != 0,
                ChangedBeyondReturnedCount = check.ChangedBeyondReturned,
                UnwrittenBelowReturned = check.UnwrittenBelowReturned,
                Mismatch = check.Mismatch,
            };
        }
        return Task.FromResult(response);
    }
}
