using Grpc.Core;
using Pvmd.Cli;
using Pvmd.Client;

namespace Pvmd.Tests.Cli;

/// <summary>Exit codes from failures, and the one-line error text.</summary>
public sealed class ExitCodeTests
{
    public static TheoryData<Exception, ExitCode> Failures => new()
    {
        { new UsageException("bad"), ExitCode.Usage },
        { new TargetNotFoundException("gone"), ExitCode.NotFound },
        { new AccessDeniedException("no", "EPERM", "yama"), ExitCode.PermissionDenied },
        { new InvalidRequestException("too many ranges"), ExitCode.InvalidArgument },
        { new TargetChangedException("pid reused"), ExitCode.TargetChanged },
        { new DaemonUnavailableException("cannot reach"), ExitCode.Unavailable },
        { new LimitExceededException("busy"), ExitCode.Failure },
        { new DaemonTimeoutException("late"), ExitCode.Failure },
        { new UnexpectedResponseException("odd"), ExitCode.Failure },
        { new PvmdClientException("internal error", StatusCode.Internal), ExitCode.Failure },
        { new OperationCanceledException(), ExitCode.Interrupted },
        { new IOException("disk"), ExitCode.Failure },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void FromException_EachFailure_HasItsCode(Exception exception, ExitCode expected) =>
        Assert.Equal(expected, ExitCodes.FromException(exception));

    [Fact]
    public void ExitCode_Values_AreTheDocumentedNumbers()
    {
        // Scripts depend on these numbers: changing one is a breaking change.
        Assert.Equal(
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130],
            Enum.GetValues<ExitCode>().Select(c => (int)c));
    }

    [Theory]
    [InlineData(ExitCode.Ok, ExitCode.Incomplete, ExitCode.Incomplete)]
    [InlineData(ExitCode.Incomplete, ExitCode.Mismatch, ExitCode.Mismatch)]
    [InlineData(ExitCode.Mismatch, ExitCode.Ok, ExitCode.Mismatch)]
    public void Worst_MismatchOutranksIncompleteOutranksOk(ExitCode a, ExitCode b, ExitCode expected) =>
        Assert.Equal(expected, ExitCodes.Worst(a, b));

    [Fact]
    public void OneLine_DaemonError_HasStatusReasonAndCause()
    {
        var line = ErrorReport.OneLine(new AccessDeniedException("Yama ptrace_scope 3 forbids attaching", "EPERM", "yama"));

        Assert.Equal("pvmctl: Yama ptrace_scope 3 forbids attaching (PERMISSION_DENIED, EPERM, cause: yama)", line);
    }

    [Fact]
    public void OneLine_WithoutReason_HasTheStatusOnly()
    {
        var line = ErrorReport.OneLine(new DaemonUnavailableException("cannot reach the daemon at unix:/x: Connection refused"));

        Assert.Equal("pvmctl: cannot reach the daemon at unix:/x: Connection refused (UNAVAILABLE)", line);
    }

    [Fact]
    public void OneLine_SeveralDaemons_NamesTheOneThatFailed()
    {
        var rpc = new RpcException(new Status(StatusCode.Unimplemented, "Service is unimplemented."));
        var exception = PvmdClientException.FromRpcException(rpc, "unix:/tmp/b.sock");

        Assert.Equal("pvmctl: unix:/tmp/b.sock: Service is unimplemented. (UNIMPLEMENTED)", ErrorReport.OneLine(exception, nameEndpoint: true));
        Assert.Equal("pvmctl: Service is unimplemented. (UNIMPLEMENTED)", ErrorReport.OneLine(exception));
    }

    [Fact]
    public void OneLine_SeveralDaemonsAndTheMessageNamesTheDaemon_DoesNotRepeatIt()
    {
        var rpc = new RpcException(new Status(StatusCode.Unavailable, "", new IOException("Connection refused")));
        var exception = PvmdClientException.FromRpcException(rpc, "unix:/tmp/b.sock");

        Assert.Equal("pvmctl: cannot reach the daemon at unix:/tmp/b.sock: Connection refused (UNAVAILABLE)", ErrorReport.OneLine(exception, nameEndpoint: true));
    }

    [Fact]
    public void OneLine_MultiLineMessage_IsFlattened()
    {
        var line = ErrorReport.OneLine(new IOException("first\r\n  second\nthird"));

        Assert.Equal("pvmctl: first second third", line);
        Assert.DoesNotContain('\n', line);
    }
}
