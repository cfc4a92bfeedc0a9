using Grpc.Core;
using Pvmd.Client;

namespace Pvmd.Cli;

/// <summary>Turns a failure into pvmctl's one-line message.</summary>
internal static class ErrorReport
{
    public const string Prefix = "pvmctl: ";

    /// <summary>"pvmctl: sentence (STATUS, REASON, cause: CAUSE)", on one line; with
    /// <paramref name="nameEndpoint"/> (several daemons in play) the sentence starts with the
    /// daemon that failed, unless it already names it.</summary>
    public static string OneLine(Exception exception, bool nameEndpoint = false)
    {
        var text = exception switch
        {
            PvmdClientException { Endpoint: { } endpoint } e when nameEndpoint && !e.Message.Contains(endpoint, StringComparison.Ordinal)
                => $"{endpoint}: {e.Message}{Qualifiers(e)}",
            PvmdClientException e => e.Message + Qualifiers(e),
            OperationCanceledException => "interrupted",
            _ => exception.Message,
        };
        return Prefix + Flatten(text);
    }

    /// <summary>The canonical name of a status code, as the gRPC spec and the proto spell it.</summary>
    public static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Qualifiers(PvmdClientException e)
    {
        var parts = new List<string> { StatusName(e.StatusCode) };
        if (e.Reason is { } reason)
        {
            parts.Add(reason);
        }

        if (e.Cause is { } cause)
        {
            parts.Add("cause: " + cause);
        }

        return " (" + string.Join(", ", parts) + ")";
    }

    // One line whatever the daemon or the runtime put in the message.
    private static string Flatten(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
