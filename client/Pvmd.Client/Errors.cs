using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;

namespace Pvmd.Client;

/// <summary>An error reported by the daemon (or met on the way to it). The daemon describes
/// each error with a gRPC status and a <c>google.rpc.ErrorInfo</c> (domain "pvmd.dev"); this
/// type carries both back to the caller, and its subtypes name the cases a caller handles.</summary>
public class PvmdClientException : Exception
{
    /// <summary>The ErrorInfo domain the daemon uses.</summary>
    public const string ErrorDomain = "pvmd.dev";

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The human-readable sentence (the daemon's detail when it gave one).</param>
    /// <param name="statusCode">The gRPC status code.</param>
    /// <param name="reason">The machine-readable reason (errno name or pvmd reason), if known.</param>
    /// <param name="cause">For access denials, who refused: yama, capability, policy or kernel.</param>
    /// <param name="innerException">The exception this one translates.</param>
    public PvmdClientException(string message, StatusCode statusCode, string? reason = null, string? cause = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Reason = reason;
        Cause = cause;
    }

    /// <summary>The gRPC status code the daemon answered with.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>ErrorInfo's reason: an errno name ("ESRCH", "EPERM") or a pvmd reason
    /// ("INVALID_REQUEST", "PID_REUSED"); null when the status carried no ErrorInfo.</summary>
    public string? Reason { get; }

    /// <summary>The human sentence describing the error (ErrorInfo's "detail" metadata, else
    /// the status's own detail). Same text as <see cref="Exception.Message"/>.</summary>
    public string Detail => Message;

    /// <summary>For access denials, who refused: "yama", "capability", "policy" or "kernel"
    /// (ErrorInfo's "cause" metadata); null otherwise.</summary>
    public string? Cause { get; }

    /// <summary>The daemon that answered (<c>unix:/path</c> or the URL), when the client knows
    /// it: a caller talking to several daemons can say which one failed.</summary>
    public string? Endpoint { get; private set; }

    /// <summary>Translates a gRPC failure into the typed exception for its status code, with
    /// the reason, detail and cause read from the ErrorInfo in the status details.</summary>
    /// <param name="exception">The failure of a call to the daemon.</param>
    /// <param name="endpoint">The daemon's endpoint, named in "unavailable" messages.</param>
    /// <returns>The typed exception (never null); throw it.</returns>
    public static PvmdClientException FromRpcException(RpcException exception, string? endpoint = null)
    {
        ArgumentNullException.ThrowIfNull(exception);

        var info = TryGetErrorInfo(exception);
        var reason = string.IsNullOrEmpty(info?.Reason) ? null : info.Reason;
        var cause = info is not null && info.Metadata.TryGetValue("cause", out var c) && c.Length > 0 ? c : null;
        var detail = info is not null && info.Metadata.TryGetValue("detail", out var d) && d.Length > 0
            ? d
            : exception.Status.Detail;
        var code = exception.StatusCode;

        PvmdClientException typed = code switch
        {
            StatusCode.NotFound => new TargetNotFoundException(Sentence(detail, "no such process"), reason, exception),
            StatusCode.PermissionDenied => new AccessDeniedException(Sentence(detail, "access denied"), reason, cause, exception),
            StatusCode.InvalidArgument or StatusCode.OutOfRange
                => new InvalidRequestException(Sentence(detail, "the daemon rejected the request"), code, reason, exception),
            StatusCode.FailedPrecondition
                => new TargetChangedException(Sentence(detail, "the target is not the process it was (pid reused)"), reason, exception),
            StatusCode.ResourceExhausted => new LimitExceededException(Sentence(detail, "the daemon's limits are reached"), reason, exception),
            StatusCode.Unavailable => new DaemonUnavailableException(UnavailableSentence(exception, detail, endpoint), reason, exception),
            StatusCode.DeadlineExceeded => new DaemonTimeoutException(Sentence(detail, "the deadline passed before the daemon answered"), reason, exception),
            StatusCode.Unimplemented => new PvmdClientException(
                Sentence(detail, "the daemon does not implement this call (is it older than this client?)"), code, reason, cause, exception),
            _ => new PvmdClientException(Sentence(detail, $"the call failed with status {code}"), code, reason, cause, exception),
        };
        typed.Endpoint = endpoint;
        return typed;
    }

    private static ErrorInfo? TryGetErrorInfo(RpcException exception)
    {
        try
        {
            return exception.GetRpcStatus()?.GetDetail<ErrorInfo>();
        }
        catch (InvalidProtocolBufferException)
        {
            // A malformed details trailer must not hide the status code itself.
            return null;
        }
    }

    private static string Sentence(string? detail, string fallback) =>
        string.IsNullOrWhiteSpace(detail) ? fallback : detail;

    private static string UnavailableSentence(RpcException exception, string? detail, string? endpoint)
    {
        // The transport's own words ("Connection refused", "No such file or directory") are in
        // the innermost exception; the status detail is generic ("Error connecting to subchannel.").
        var inner = exception.Status.DebugException;
        while (inner?.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        var why = inner?.Message ?? detail;
        var where = endpoint is null ? "the daemon" : $"the daemon at {endpoint}";
        return string.IsNullOrWhiteSpace(why) ? $"cannot reach {where}" : $"cannot reach {where}: {why}";
    }
}

/// <summary>The target process does not exist, or exited (NOT_FOUND, reason ESRCH).</summary>
public sealed class TargetNotFoundException(string message, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.NotFound, reason, null, innerException);

/// <summary>The kernel or the daemon's policy refused access (PERMISSION_DENIED). <see
/// cref="PvmdClientException.Cause"/> says who: Yama's ptrace_scope, a missing capability,
/// the daemon's policy, or the kernel's ptrace access check.</summary>
public sealed class AccessDeniedException(string message, string? reason = null, string? cause = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.PermissionDenied, reason, cause, innerException);

/// <summary>The daemon rejected the request as malformed (INVALID_ARGUMENT or OUT_OF_RANGE);
/// nothing was done.</summary>
public sealed class InvalidRequestException(string message, StatusCode statusCode = StatusCode.InvalidArgument, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, statusCode, reason, null, innerException);

/// <summary>The pid now names another process than the one the caller saw: its start time
/// differs (FAILED_PRECONDITION, reason PID_REUSED).</summary>
public sealed class TargetChangedException(string message, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.FailedPrecondition, reason, null, innerException);

/// <summary>The daemon's limits (concurrency, sizes) are reached (RESOURCE_EXHAUSTED); retry later
/// or ask for less.</summary>
public sealed class LimitExceededException(string message, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.ResourceExhausted, reason, null, innerException);

/// <summary>The daemon cannot be reached (UNAVAILABLE): no socket, nobody listening, connection lost.</summary>
public sealed class DaemonUnavailableException(string message, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.Unavailable, reason, null, innerException);

/// <summary>The call's deadline passed (DEADLINE_EXCEEDED).</summary>
public sealed class DaemonTimeoutException(string message, string? reason = null, Exception? innerException = null)
    : PvmdClientException(message, StatusCode.DeadlineExceeded, reason, null, innerException);

/// <summary>The daemon's answer breaks the contract (a range without its result, an index that
/// was not asked for); raised by the client, not the daemon.</summary>
public sealed class UnexpectedResponseException(string message)
    : PvmdClientException(message, StatusCode.Internal, "UNEXPECTED_RESPONSE");
