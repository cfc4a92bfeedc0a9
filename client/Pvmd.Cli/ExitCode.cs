using Pvmd.Client;

namespace Pvmd.Cli;

/// <summary>pvmctl's exit codes. Errors found before the daemon is asked (a malformed address,
/// a missing option) are <see cref="Usage"/>; requests the daemon itself rejects are
/// <see cref="InvalidArgument"/>.</summary>
/// <remarks>A transfer that ran is not an error even if it stopped short: holes are part of a
/// read's answer. Two outcomes of a transfer that ran still get their own codes, so that a
/// script can tell them from success without parsing output:
/// <see cref="Mismatch"/> (the kernel's count disagreed with the bytes it really changed), and
/// <see cref="Incomplete"/> (a write stopped short, or a raw read, whose output cannot show
/// where bytes are missing, had holes). When both apply, <see cref="Mismatch"/> wins.</remarks>
public enum ExitCode
{
    /// <summary>Done, and nothing worth a non-zero code was found.</summary>
    Ok = 0,

    /// <summary>Any other failure (I/O, an unexpected daemon answer, limits, timeouts).</summary>
    Failure = 1,

    /// <summary>The command line is wrong; nothing was sent to the daemon.</summary>
    Usage = 2,

    /// <summary>The target process does not exist (NOT_FOUND).</summary>
    NotFound = 3,

    /// <summary>The kernel or the daemon refused access (PERMISSION_DENIED).</summary>
    PermissionDenied = 4,

    /// <summary>The daemon rejected the request (INVALID_ARGUMENT).</summary>
    InvalidArgument = 5,

    /// <summary>The pid now names another process: its start time differs (FAILED_PRECONDITION).</summary>
    TargetChanged = 6,

    /// <summary>The daemon cannot be reached (UNAVAILABLE).</summary>
    Unavailable = 7,

    /// <summary>A count disagreed with the bytes the kernel really changed: a verified read or
    /// write whose check says mismatch, a probe that found a case where the count and the
    /// bytes disagree (SHORT_DIRTY, OVER_REPORT, EFAULT_DIRTY; SHORT_CLEAN and EFAULT_CLEAN are
    /// honest counts), or a compare whose daemons classify some case differently.</summary>
    Mismatch = 8,

    /// <summary>The transfer ran but did not move every byte: a write stopped short, or a raw
    /// read had holes (its stdout holds only the readable bytes).</summary>
    Incomplete = 9,

    /// <summary>Interrupted (Ctrl+C, SIGTERM); 128 + SIGINT as shells report it.</summary>
    Interrupted = 130,
}

/// <summary>Maps failures to exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>The exit code for a command that failed with <paramref name="exception"/>.</summary>
    public static ExitCode FromException(Exception exception) => exception switch
    {
        UsageException => ExitCode.Usage,
        TargetNotFoundException => ExitCode.NotFound,
        AccessDeniedException => ExitCode.PermissionDenied,
        InvalidRequestException => ExitCode.InvalidArgument,
        TargetChangedException => ExitCode.TargetChanged,
        DaemonUnavailableException => ExitCode.Unavailable,
        OperationCanceledException => ExitCode.Interrupted,
        _ => ExitCode.Failure,
    };

    /// <summary>The more important of two outcomes of commands that ran.</summary>
    public static ExitCode Worst(ExitCode a, ExitCode b) => Rank(a) >= Rank(b) ? a : b;

    private static int Rank(ExitCode code) => code switch
    {
        ExitCode.Ok => 0,
        ExitCode.Incomplete => 1,
        ExitCode.Mismatch => 2,
        _ => 3,
    };
}
