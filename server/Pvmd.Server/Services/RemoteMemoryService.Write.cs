using System.Diagnostics;
using Grpc.Core;
using Pvmd.Core.Memory;
using Pvmd.Server.Telemetry;
using Pvmd.V1;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    public override Task<WriteRemoteResponse> WriteRemote(WriteRemoteRequest request, ServerCallContext context)
    {
        var rpc = Activity.Current;
        _limits.ValidateWrite(request.Address, request.Data.Length);
        using var target = ProtoMapping.Open(request.Target, context);
        _telemetry.OnRpc(rpc, target.Pid);
        var start = _telemetry.SyscallStart();
        WriteOutcome outcome;
        try
        {
            outcome = new RemoteWriter(_limits).Write(target, request.Address, request.Data.Span, request.Verify, request.Force);
        }
        catch (Exception e)
        {
            _telemetry.OnSyscallFailed(request.Force ? TelemetryNames.ForcedWriteSpan : TelemetryNames.WriteSpan, "write", target.Pid, e, start);
            throw;
        }
        _telemetry.OnWrite(rpc, target.Pid, request.Address, request.Data.Length, request.Force, outcome, start);
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
