using Pvmd.Core;
using Pvmd.Core.Host;
using Pvmd.Core.Memory;
using Pvmd.V1;

namespace Pvmd.Server.Services;

/// <summary>Conversions between the contract's messages and the engine's types.</summary>
internal static class ProtoMapping
{
    /// <summary>The request's target as the access control pinned it when it authorized the
    /// call (one pidfd per request), or pinned now.</summary>
    public static TargetHandle Open(Target? target, Grpc.Core.ServerCallContext context) =>
        Security.AccessInterceptor.PinnedTarget(context) is { } pinned && pinned.Pid == target?.Pid ? pinned : Open(target);

    /// <summary>Pins the request's target; a missing target is a malformed request.</summary>
    public static TargetHandle Open(Target? target)
    {
        if (target is null)
        {
            throw new InvalidRequestException("the request names no target");
        }
        return TargetHandle.Open(target.Pid, target.StartTime);
    }

    public static V1.StopReason ToProto(Core.Memory.StopReason reason) => reason switch
    {
        Core.Memory.StopReason.Unmapped => V1.StopReason.Unmapped,
        Core.Memory.StopReason.Protection => V1.StopReason.Protection,
        Core.Memory.StopReason.Fault => V1.StopReason.Fault,
        Core.Memory.StopReason.ProcessGone => V1.StopReason.ProcessGone,
        _ => V1.StopReason.Unspecified,
    };

    public static V1.Hole ToProto(Core.Memory.Hole hole) => new()
    {
        Address = hole.Address,
        Length = hole.Length,
        Reason = ToProto(hole.Reason),
    };

    public static V1.Platform ToProto(HostFacts facts) => new()
    {
        Arch = facts.Arch,
        KernelRelease = facts.KernelRelease,
        PageSize = (uint)facts.PageSize,
        CpuModel = facts.CpuModel,
        Hwcap = facts.Hwcap,
        Hwcap2 = facts.Hwcap2,
        CpuFeatures = facts.CpuFeatures,
        YamaPtraceScope = facts.YamaPtraceScope,
        HasCapSysPtrace = facts.HasCapSysPtrace,
        DaemonVersion = facts.DaemonVersion,
        Emulation = facts.Emulation,
        Hostname = facts.Hostname,
    };

    /// <summary>The request's ranges for the engine (validated there).</summary>
    public static MemoryRange[] ToRanges(ReadRemoteRequest request)
    {
        var ranges = new MemoryRange[request.Ranges.Count];
        for (var i = 0; i < ranges.Length; i++)
        {
            ranges[i] = new MemoryRange(request.Ranges[i].Address, request.Ranges[i].Length);
        }
        return ranges;
    }

    /// <summary>A finished range's account, as ReadRemote (and the local path) report it.</summary>
    public static RangeResult ToProto(RangeOutcome outcome)
    {
        var result = new RangeResult
        {
            RangeIndex = (uint)outcome.Index,
            Address = outcome.Range.Address,
            Length = outcome.Range.Length,
            BytesRead = outcome.BytesRead,
            SyscallReturned = outcome.SyscallReturned,
            UnreadableBytes = outcome.UnreadableBytes,
        };
        if (outcome.Holes.Count > 0)
        {
            result.StopAddress = outcome.Holes[0].Address;
            result.StopReason = ToProto(outcome.Holes[0].Reason);
            foreach (var hole in outcome.Holes)
            {
                result.Holes.Add(ToProto(hole));
            }
        }
        if (outcome.Check is { } check)
        {
            result.Check = new V1.TransferCheck
            {
                Returned = check.Returned,
                Actual = check.Actual,
                ChangedBeyondReturned = check.ChangedBeyondReturned,
                UnwrittenBelowReturned = check.UnwrittenBelowReturned,
                FirstModifiedOffset = check.FirstModifiedOffset,
                LastModifiedOffset = check.LastModifiedOffset,
                Mismatch = check.Mismatch,
                Injected = check.Injected,
            };
        }
        return result;
    }
}
