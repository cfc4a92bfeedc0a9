using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Grpc.Core;
using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>
/// The client's traces: every call of <see cref="PvmdClient"/> is a client span of the
/// ActivitySource <see cref="SourceName"/>, named after the RPC
/// (<c>pvmd.v1.RemoteMemory/ReadRemote</c>). The span's W3C trace context travels to the daemon
/// in the call's headers, so the daemon's server span is its child in the same trace. A
/// byte-count mismatch the daemon reports in a response (a range's or a write's check, a probe
/// case that is not EXACT) is marked on the span as the daemon marks it on its own: the event
/// <c>pvmd.byte_count_mismatch</c>, the attribute <c>pvmd.mismatch</c> and the status Error.
/// Listen with <c>AddSource(PvmdClientTelemetry.SourceName)</c>; with no listener nothing is
/// created.
/// </summary>
public static class PvmdClientTelemetry
{
    /// <summary>The ActivitySource's name.</summary>
    public const string SourceName = "Pvmd.Client";

    /// <summary>The event that marks a disagreement between a count and the bytes changed.</summary>
    public const string MismatchEvent = "pvmd.byte_count_mismatch";

    /// <summary>Set (true) on a read's span when the read went through the node-local path.</summary>
    public const string LocalPath = "pvmd.local_path";

    /// <summary>Mismatch events on one span at most; the rest are counted in
    /// <c>pvmd.mismatch.count</c> (probe cases also per class).</summary>
    public const int MaxMismatchEvents = 100;

    private const string Service = "pvmd.v1.RemoteMemory";

    internal static readonly ActivitySource Source = new(
        SourceName,
        typeof(PvmdClientTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]);

    /// <summary>Starts the client span of one call, or returns null when nobody listens.</summary>
    internal static Activity? StartCall(string method, TargetProcess? target, string? endpoint)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var activity = Source.StartActivity($"{Service}/{method}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", Service);
            activity.SetTag("rpc.method", method);
            if (endpoint is not null)
            {
                activity.SetTag("server.address", endpoint);
            }
            if (target is { } process)
            {
                activity.SetTag("pvmd.target.pid", process.Pid);
            }
        }
        return activity;
    }

    /// <summary>The call's headers with the span's trace context (traceparent, tracestate),
    /// written by the process's propagator (W3C by default). Null without a span: then the
    /// HTTP handler propagates whatever span is current, as it always does.</summary>
    internal static Metadata? Headers(Activity? activity)
    {
        if (activity is null)
        {
            return null;
        }
        var headers = new Metadata();
        DistributedContextPropagator.Current.Inject(activity, headers, static (carrier, name, value) =>
        {
            if (carrier is Metadata metadata && value is not null)
            {
                metadata.Add(name.ToLowerInvariant(), value);
            }
        });
        return headers;
    }

    /// <summary>Sets the first address and the bytes asked for, when the span records.</summary>
    internal static void SetTransfer(Activity? activity, ulong address, ulong length, bool verify)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("pvmd.address", "0x" + address.ToString("x", CultureInfo.InvariantCulture));
            activity.SetTag("pvmd.requested_bytes", (long)length);
            activity.SetTag("pvmd.verified", verify);
        }
    }

    /// <summary>Marks the mismatch of one range's check (a no-op for a clean or absent check).</summary>
    internal static void OnRange(Activity? activity, RangeResult result)
    {
        if (activity is not { IsAllDataRequested: true } || result.Check is null)
        {
            return;
        }
        var check = result.Check;
        if (!check.Mismatch)
        {
            activity.SetTag("pvmd.mismatch", activity.GetTagItem("pvmd.mismatch") as bool? ?? false);
            return;
        }
        Mark(activity, new ActivityTagsCollection
        {
            ["pvmd.range_index"] = (long)result.RangeIndex,
            ["pvmd.returned"] = (long)check.Returned,
            ["pvmd.actual"] = (long)check.Actual,
            ["pvmd.changed_beyond_returned"] = (long)check.ChangedBeyondReturned,
            ["pvmd.unwritten_below_returned"] = (long)check.UnwrittenBelowReturned,
            ["pvmd.first_modified_offset"] = check.FirstModifiedOffset,
            ["pvmd.last_modified_offset"] = check.LastModifiedOffset,
            ["pvmd.class"] = Classify(check.UnwrittenBelowReturned, check.ChangedBeyondReturned),
            ["pvmd.op"] = "read",
            ["pvmd.injected"] = check.Injected,
        });
    }

    /// <summary>Marks the mismatch of a verified write (a no-op for a clean or absent check).</summary>
    internal static void OnWrite(Activity? activity, WriteRemoteResponse response)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }
        activity.SetTag("pvmd.returned", (long)response.SyscallReturned);
        if (response.Check is not { } check)
        {
            return;
        }
        if (!check.Mismatch)
        {
            activity.SetTag("pvmd.mismatch", false);
            return;
        }
        Mark(activity, new ActivityTagsCollection
        {
            ["pvmd.returned"] = (long)response.SyscallReturned,
            // What the snapshots show written, as the daemon counts it.
            ["pvmd.actual"] = (long)(response.SyscallReturned - check.UnwrittenBelowReturned + check.ChangedBeyondReturnedCount),
            ["pvmd.changed_beyond_returned"] = (long)check.ChangedBeyondReturnedCount,
            ["pvmd.unwritten_below_returned"] = (long)check.UnwrittenBelowReturned,
            ["pvmd.first_modified_offset"] = check.FirstChangedOffset,
            ["pvmd.class"] = Classify(check.UnwrittenBelowReturned, check.ChangedBeyondReturnedCount),
            ["pvmd.op"] = "write",
            ["pvmd.injected"] = false,
        });
    }

    /// <summary>Marks one probe case that is not EXACT: an event for the first
    /// <see cref="MaxMismatchEvents"/>, a count per class for all.</summary>
    internal static void OnProbeCase(Activity? activity, ProbeCase probeCase)
    {
        if (activity is not { IsAllDataRequested: true } || probeCase.Class is CaseClass.Exact or CaseClass.Unspecified)
        {
            return;
        }
        var className = ClassName(probeCase.Class);
        var key = "pvmd.probe.class." + className;
        activity.SetTag(key, (activity.GetTagItem(key) as long? ?? 0) + 1);
        Mark(activity, new ActivityTagsCollection
        {
            ["pvmd.returned"] = probeCase.Ret,
            ["pvmd.actual"] = (long)probeCase.ModifiedCount,
            ["pvmd.first_modified_offset"] = probeCase.FirstModified,
            ["pvmd.last_modified_offset"] = probeCase.LastModified,
            ["pvmd.class"] = className,
            ["pvmd.op"] = probeCase.Op == ProbeOp.Writev ? "probe_writev" : "probe_readv",
            ["pvmd.probe.before"] = (long)probeCase.Before,
            ["pvmd.probe.after"] = (long)probeCase.After,
            ["pvmd.probe.misalignment"] = (long)probeCase.Misalignment,
            ["pvmd.injected"] = probeCase.Injected,
        });
    }

    /// <summary>Puts the probe's totals on its span.</summary>
    internal static void OnProbeSummary(Activity? activity, ProbeSummary summary)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }
        activity.SetTag("pvmd.probe.cases", (long)summary.Total);
        long nonExact = 0;
        foreach (var count in summary.Counts)
        {
            if (count.Class is not (CaseClass.Exact or CaseClass.Unspecified))
            {
                nonExact += (long)count.Count;
            }
        }
        activity.SetTag("pvmd.probe.non_exact", nonExact);
    }

    /// <summary>Ends a failed call's span with the gRPC status.</summary>
    internal static void OnFailure(Activity? activity, RpcException exception)
    {
        if (activity is null)
        {
            return;
        }
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("rpc.grpc.status_code", (int)exception.StatusCode);
        }
        activity.SetStatus(ActivityStatusCode.Error, exception.Status.Detail);
    }

    /// <summary>Records the OK status of a call that completed.</summary>
    internal static void OnSuccess(Activity? activity)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.grpc.status_code", (int)StatusCode.OK);
        }
    }

    private static void Mark(Activity activity, ActivityTagsCollection tags)
    {
        var count = activity.GetTagItem("pvmd.mismatch.count") is int previous ? previous + 1 : 1;
        activity.SetTag("pvmd.mismatch.count", count);
        if (count <= MaxMismatchEvents)
        {
            activity.AddEvent(new ActivityEvent(MismatchEvent, tags: tags));
        }
        if (tags["pvmd.injected"] is true)
        {
            activity.SetTag("pvmd.injected", true);
        }
        if (count == 1)
        {
            activity.SetTag("pvmd.mismatch", true);
            var injected = tags["pvmd.injected"] is true ? ", injected" : "";
            activity.SetStatus(ActivityStatusCode.Error, $"byte-count mismatch ({tags["pvmd.class"]}{injected}): returned {tags["pvmd.returned"]}, changed {tags["pvmd.actual"]}");
        }
    }

    private static string Classify(ulong unwrittenBelow, ulong changedBeyond) =>
        unwrittenBelow != 0 ? "over_report" : changedBeyond != 0 ? "short_dirty" : "count_differs";

    private static string ClassName(CaseClass caseClass) => caseClass switch
    {
        CaseClass.ShortClean => "short_clean",
        CaseClass.ShortDirty => "short_dirty",
        CaseClass.OverReport => "over_report",
        CaseClass.EfaultClean => "efault_clean",
        CaseClass.EfaultDirty => "efault_dirty",
        _ => caseClass.ToString().ToLowerInvariant(),
    };
}
