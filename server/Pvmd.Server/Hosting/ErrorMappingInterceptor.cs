using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Pvmd.Core;

namespace Pvmd.Server.Hosting;

/// <summary>
/// The one place where engine errors become gRPC statuses. Each status carries a
/// google.rpc.ErrorInfo with the errno name (or pvmd reason) and a human sentence; an
/// unexpected exception becomes INTERNAL with no detail, never UNKNOWN and never a stack trace.
/// </summary>
public sealed class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public const string Domain = "pvmd.dev";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Map(e, context);
        }
    }

    private RpcException Map(Exception exception, ServerCallContext context) =>
        Describe(exception, context.Method, context.CancellationToken.IsCancellationRequested).ToRpcException();

    /// <summary>The status a failed call answers with, logged once; the node-local path sends
    /// the same status in its error frame.</summary>
    public Google.Rpc.Status Describe(Exception exception, string method, bool cancelled)
    {
        var (code, reason, detail, cause) = exception switch
        {
            TargetNotFoundException e => (Code.NotFound, e.Reason, e.Message, null),
            AccessDeniedException e => (Code.PermissionDenied, e.Reason, e.Message, e.Cause.ToString().ToLowerInvariant()),
            InvalidRequestException e => (Code.InvalidArgument, e.Reason, e.Message, null),
            TargetChangedException e => (Code.FailedPrecondition, e.Reason, e.Message, null),
            ResourceLimitException e => (Code.ResourceExhausted, e.Reason, e.Message, null),
            ProbeAbortedException e => (Code.Aborted, e.Reason, e.Message, null),
            SystemCallException e => (Code.Internal, e.Reason, e.Message, null),
            OperationCanceledException when cancelled => (Code.Cancelled, "CANCELLED", "the call was cancelled", null),
            _ => (Code.Internal, "INTERNAL", "internal error", (string?)null),
        };
        if (reason == "INTERNAL")
        {
            Log.Unexpected(logger, exception, method);
        }
        else
        {
            Log.Refused(logger, method, code.ToString(), reason, detail);
        }
        var info = new ErrorInfo { Domain = Domain, Reason = reason };
        info.Metadata["detail"] = detail;
        if (cause is not null)
        {
            info.Metadata["cause"] = cause;
        }
        if (exception is PvmdException { Metadata.Count: > 0 } pvmd)
        {
            info.Metadata.Add(pvmd.Metadata);
        }
        return new Google.Rpc.Status { Code = (int)code, Message = detail, Details = { Any.Pack(info) } };
    }
}
