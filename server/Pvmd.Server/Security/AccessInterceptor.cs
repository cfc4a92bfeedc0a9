using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Pvmd.Core;
using Pvmd.Core.Memory;
using Pvmd.Core.Procfs;
using Pvmd.V1;

namespace Pvmd.Server.Security;

/// <summary>
/// The one place where calls are authenticated, limited, authorized and audited. For every
/// call it finds the caller (SO_PEERCRED or the client certificate), takes a concurrency slot,
/// names the operation and the target from the request, pins the target (pidfd) and asks the
/// policy. An allowed target's start time is written into the request, so the service acts on
/// exactly the process that was authorized even if the pid is reused in between. Changes
/// (writes, probes of a target) and every denial are written to the audit log; a process
/// listing is filtered to the processes the caller may see.
///
/// It fails closed: a method it does not know is denied, so a new RPC is unreachable until
/// it is classified here.
/// </summary>
public sealed class AccessInterceptor(
    PolicyStore policies,
    AuditLog audit,
    ConcurrencyLimiter limiter,
    IOptions<SecurityOptions> options,
    ILogger<AccessInterceptor> logger) : Interceptor
{
    private readonly bool _insecureAllowed = options.Value.Insecure;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(request, context);
        if (call is null)
        {
            return await continuation(request, context);
        }
        context.UserState[typeof(Call)] = call;
        try
        {
            var response = await continuation(request, context);
            call.Succeeded(response);
            if (response is ListProcessesResponse listing)
            {
                FilterListing(call, listing);
            }
            return response;
        }
        catch (Exception e)
        {
            call.Failed(e);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var call = Begin(request, context);
        if (call is null)
        {
            await continuation(request, responseStream, context);
            return;
        }
        context.UserState[typeof(Call)] = call;
        try
        {
            await continuation(request, responseStream, context);
            call.Succeeded(null);
        }
        catch (Exception e)
        {
            call.Failed(e);
            throw;
        }
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        RequirePublic(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        RequirePublic(context);
        return continuation(requestStream, responseStream, context);
    }

    /// <summary>The health and reflection services: any authenticated caller, no policy, no
    /// concurrency slot (health checks must answer when the daemon is busy).</summary>
    private static bool IsPublic(string method) =>
        method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal)
        || method.StartsWith("/grpc.reflection.v1alpha.ServerReflection/", StringComparison.Ordinal)
        || method.StartsWith("/grpc.reflection.v1.ServerReflection/", StringComparison.Ordinal);

    private void RequirePublic(ServerCallContext context)
    {
        var caller = Authenticate(context);
        if (!IsPublic(context.Method))
        {
            throw Deny(new AuditEntry("denied", "unknown", context.Method, caller, Status: "PERMISSION_DENIED", Rule: "unknown-method"), "unknown-method", 0, $"{context.Method} is not a method the daemon authorizes");
        }
    }

    private Caller Authenticate(ServerCallContext context)
    {
        var caller = CallerResolver.Resolve(context.GetHttpContext(), _insecureAllowed)
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "the connection carries no caller identity"));
        if (caller.Transport == CallerTransport.InsecureTcp)
        {
            SecurityLog.InsecureCall(logger, context.Method, caller.ToString());
        }
        return caller;
    }

    /// <summary>The method name a read over the node-local path is logged and audited under.</summary>
    public const string LocalReadMethod = "/pvmd.v1.RemoteMemory/ReadRemote (local path)";

    /// <summary>Takes a concurrency slot for a read that came over the node-local path and
    /// authorizes it exactly as a ReadRemote call (denials logged and audited); the slot is
    /// held until the result is disposed. The target's start time is pinned into the request.</summary>
    /// <param name="pin">Pins the target (pid, expected start time): the local path keeps its
    /// last target pinned and renews it, so a front end polling one process pays for one pidfd,
    /// not one per read. The handle stays the caller's.</param>
    public IDisposable BeginLocalRead(ReadRemoteRequest request, Caller caller, Func<int, ulong, TargetHandle> pin) =>
        Begin(request, caller, LocalReadMethod, pin);

    /// <summary>The target this call's authorization pinned, for the service to act on (one
    /// pidfd per request, not two); null when the call names no target.</summary>
    public static TargetHandle? PinnedTarget(ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(Call), out var call) ? ((Call)call).Target : null;

    /// <summary>Authenticates, takes a slot and authorizes; null for the public services.</summary>
    private Call? Begin(object request, ServerCallContext context)
    {
        var caller = Authenticate(context);
        return IsPublic(context.Method) ? null : Begin(request, caller, context.Method);
    }

    private Call Begin(object request, Caller caller, string method, Func<int, ulong, TargetHandle>? pin = null)
    {
        var access = Classify(request);
        if (access is null)
        {
            throw Deny(new AuditEntry("denied", "unknown", method, caller, Status: "PERMISSION_DENIED", Rule: "unknown-method"), "unknown-method", 0, $"{method} is not a method the daemon authorizes");
        }
        var lease = limiter.Acquire(caller.Key);
        try
        {
            return Authorize(access, caller, method, lease, pin);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private Call Authorize(Access access, Caller caller, string method, ConcurrencyLimiter.Lease lease, Func<int, ulong, TargetHandle>? pin)
    {
        var policy = policies.Current;
        var operation = Operations.Name(access.Operation);
        if (access.Target is null)
        {
            // A listing is allowed when some rule could show this caller some process; which
            // processes it shows is decided one by one afterwards (FilterListing). Opening the
            // local path likewise needs some process the caller may read; each read over it
            // is decided like a ReadRemote call.
            var decision = access.Operation is not (Operation.Processes or Operation.Read)
                ? policy.Decide(caller, access.Operation, null)
                : policy.MayAllowSome(caller, access.Operation)
                    ? new Decision(true, "", 0, "")
                    : new Decision(false, Policy.NoRule, 0, $"no rule of {policy.Source} lets this caller {(access.Operation == Operation.Read ? "read any process" : "list processes")}");
            if (!decision.Allowed)
            {
                throw Deny(new AuditEntry("denied", operation, method, caller, Status: "PERMISSION_DENIED", Rule: decision.RuleName, Detail: decision.Explanation), decision.RuleName, decision.RuleIndex, $"{operation} by {caller}: {decision.Explanation}");
            }
            return new Call(this, access, caller, method, lease, policy, null);
        }
        // A handle this call pins is its own, disposed with it; one the caller pins stays the caller's.
        var owned = pin is null;
        var handle = owned ? TargetHandle.Open(access.Target.Pid, access.Target.StartTime) : pin!(access.Target.Pid, access.Target.StartTime);
        try
        {
            var call = Authorize(access, caller, method, lease, policy, operation, handle, owned);
            access.Target.StartTime = handle.StartTime;
            return call;
        }
        catch
        {
            if (owned)
            {
                handle.Dispose();
            }
            throw;
        }
    }

    private Call Authorize(Access access, Caller caller, string method, ConcurrencyLimiter.Lease lease, Policy policy, string operation, TargetHandle handle, bool owned)
    {
        var facts = new TargetFacts(handle.Pid, handle.StartTime, handle.Stat.Command);
        var verdict = policy.Decide(caller, access.Operation, facts);
        var audited = !verdict.Allowed || Operations.Changes(access.Operation);
        var exe = audited ? facts.Executable : null;
        // Facts read by path after the pin describe the pinned process only if it is still
        // alive now (the handle's own stat is its process's by construction).
        if (facts.ReadByPath && !handle.IsAlive())
        {
            throw new TargetNotFoundException(handle.Pid);
        }
        var target = new AuditedTarget(handle.Pid, handle.StartTime, exe, handle.Stat.Command);
        if (!verdict.Allowed)
        {
            throw Deny(access.Entry("denied", operation, method, caller, target) with { Status = "PERMISSION_DENIED", Rule = verdict.RuleName, Detail = verdict.Explanation },
                verdict.RuleName, verdict.RuleIndex, $"{operation} of pid {handle.Pid} ({handle.Stat.Command}) by {caller}: {verdict.Explanation}");
        }
        return new Call(this, access, caller, method, lease, policy, target, handle, owned);
    }

    private AccessDeniedException Deny(AuditEntry entry, string rule, int ruleIndex, string message)
    {
        SecurityLog.Denied(logger, entry.Operation, entry.Caller.ToString(), entry.TargetPid is { } pid ? $"pid {pid}" : "(no target)", entry.Detail ?? message);
        audit.Record(entry);
        var exception = new AccessDeniedException("POLICY_DENIED", DenialCause.Policy, $"policy denies {message}");
        exception.Metadata["rule"] = rule;
        exception.Metadata["rule_index"] = ruleIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        exception.Metadata["operation"] = entry.Operation;
        return exception;
    }

    /// <summary>Keeps the processes the caller may list, each decided like a target of its own.</summary>
    private static void FilterListing(Call call, ListProcessesResponse listing)
    {
        var kept = new List<ProcessInfo>(listing.Processes.Count);
        foreach (var process in listing.Processes)
        {
            var facts = new TargetFacts(process.Pid, process.StartTime, process.Name);
            if (call.Policy.Decide(call.Caller, Operation.Processes, facts).Allowed
                && ProcStat.TryRead(process.Pid)?.StartTime == process.StartTime)
            {
                kept.Add(process);
            }
        }
        listing.Processes.Clear();
        listing.Processes.Add(kept);
    }

    /// <summary>The operation and target of a request of the contract; null for anything else.</summary>
    private static Access? Classify(object request) => request switch
    {
        ReadRemoteRequest r => new Access(Operation.Read, RequireTarget(r.Target)),
        WriteRemoteRequest w => new Access(w.Force ? Operation.ForceWrite : Operation.Write, RequireTarget(w.Target), w.Address, w.Data.Length, Convert.ToHexStringLower(SHA256.HashData(w.Data.Span))),
        ListRegionsRequest l => new Access(Operation.Regions, RequireTarget(l.Target)),
        ListProcessesRequest => new Access(Operation.Processes, null),
        GetPlatformRequest => new Access(Operation.Platform, null),
        OpenLocalPathRequest => new Access(Operation.Read, null),
        ProbeRequest p => new Access(Operation.Probe, p.Target is { Pid: not 0 } ? p.Target : null, p.Target is { Pid: not 0 } ? p.RemoteAddress : null),
        _ => null,
    };

    private static Target RequireTarget(Target? target) => target ?? throw new InvalidRequestException("the request names no target");

    private static string StatusOf(Exception exception) => exception switch
    {
        TargetNotFoundException => "NOT_FOUND",
        AccessDeniedException => "PERMISSION_DENIED",
        InvalidRequestException => "INVALID_ARGUMENT",
        TargetChangedException => "FAILED_PRECONDITION",
        ResourceLimitException => "RESOURCE_EXHAUSTED",
        ProbeAbortedException => "ABORTED",
        OperationCanceledException => "CANCELLED",
        RpcException { StatusCode: StatusCode.Cancelled } => "CANCELLED",
        RpcException { StatusCode: StatusCode.DeadlineExceeded } => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };

    private sealed record Access(Operation Operation, Target? Target, ulong? Address = null, long? Length = null, string? Sha256 = null)
    {
        public AuditEntry Entry(string kind, string operation, string method, Caller caller, AuditedTarget? target) =>
            new(kind, operation, method, caller, target?.Pid, target?.StartTime, target?.Exe, target?.Comm, Address, Length, Sha256);
    }

    private sealed record AuditedTarget(int Pid, ulong StartTime, string? Exe, string Comm);

    /// <summary>An authorized call in progress: holds its concurrency slot and writes its audit
    /// record (for changes) when it ends.</summary>
    private sealed class Call(AccessInterceptor owner, Access access, Caller caller, string method, ConcurrencyLimiter.Lease lease, Policy policy, AuditedTarget? target, TargetHandle? pinned = null, bool ownsPinned = true) : IDisposable
    {
        public Caller Caller { get; } = caller;

        /// <summary>The pinned target the policy decided on; disposed with the call when it pinned it.</summary>
        public TargetHandle? Target { get; } = pinned;

        public Policy Policy { get; } = policy;

        private bool Audited => target is not null && Operations.Changes(access.Operation);

        public void Succeeded(object? response)
        {
            if (!Audited)
            {
                return;
            }
            var entry = access.Entry(access.Operation == Operation.Probe ? "probe" : "write", Operations.Name(access.Operation), method, Caller, target);
            if (response is WriteRemoteResponse write)
            {
                entry = entry with
                {
                    BytesWritten = write.SyscallReturned,
                    StopAddress = write.HasStopAddress ? write.StopAddress : null,
                    StopReason = write.HasStopAddress ? write.StopReason.ToString() : null,
                };
            }
            owner.RecordAudit(entry);
        }

        public void Failed(Exception exception)
        {
            if (Audited)
            {
                var entry = access.Entry(access.Operation == Operation.Probe ? "probe" : "write", Operations.Name(access.Operation), method, Caller, target);
                owner.RecordAudit(entry with { Status = StatusOf(exception), Detail = exception is PvmdException ? exception.Message : null });
            }
        }

        public void Dispose()
        {
            if (ownsPinned)
            {
                Target?.Dispose();
            }
            lease.Dispose();
        }
    }

    private void RecordAudit(AuditEntry entry) => audit.Record(entry);
}
