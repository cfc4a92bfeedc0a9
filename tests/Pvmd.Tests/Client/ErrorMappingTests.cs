using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Pvmd.Client;

namespace Pvmd.Tests.Client;

/// <summary>RpcException to typed exception: the status code picks the type, the ErrorInfo in
/// grpc-status-details-bin gives reason, detail and cause.</summary>
public sealed class ErrorMappingTests
{
    private static RpcException Failure(Code code, string reason, string detail, string? cause = null, string message = "status message")
    {
        var info = new ErrorInfo { Domain = PvmdClientException.ErrorDomain, Reason = reason };
        info.Metadata["detail"] = detail;
        if (cause is not null)
        {
            info.Metadata["cause"] = cause;
        }

        return new Google.Rpc.Status { Code = (int)code, Message = message, Details = { Any.Pack(info) } }.ToRpcException();
    }

    [Theory]
    [InlineData(Code.NotFound, typeof(TargetNotFoundException))]
    [InlineData(Code.PermissionDenied, typeof(AccessDeniedException))]
    [InlineData(Code.InvalidArgument, typeof(InvalidRequestException))]
    [InlineData(Code.OutOfRange, typeof(InvalidRequestException))]
    [InlineData(Code.FailedPrecondition, typeof(TargetChangedException))]
    [InlineData(Code.ResourceExhausted, typeof(LimitExceededException))]
    [InlineData(Code.Unavailable, typeof(DaemonUnavailableException))]
    [InlineData(Code.DeadlineExceeded, typeof(DaemonTimeoutException))]
    [InlineData(Code.Internal, typeof(PvmdClientException))]
    [InlineData(Code.Unimplemented, typeof(PvmdClientException))]
    public void FromRpcException_StatusCode_PicksTheType(Code code, System.Type expected)
    {
        var exception = PvmdClientException.FromRpcException(Failure(code, "R", "a sentence"));

        Assert.IsType(expected, exception);
        Assert.Equal((StatusCode)code, exception.StatusCode);
    }

    [Fact]
    public void FromRpcException_PermissionDenied_CarriesReasonDetailAndCause()
    {
        var rpc = Failure(Code.PermissionDenied, "EPERM", "Yama ptrace_scope 3 forbids attaching", "yama");

        var exception = PvmdClientException.FromRpcException(rpc);

        var denied = Assert.IsType<AccessDeniedException>(exception);
        Assert.Equal("EPERM", denied.Reason);
        Assert.Equal("yama", denied.Cause);
        Assert.Equal("Yama ptrace_scope 3 forbids attaching", denied.Detail);
        Assert.Equal(denied.Detail, denied.Message);
        Assert.Same(rpc, denied.InnerException);
    }

    [Fact]
    public void FromRpcException_PidReused_IsTargetChanged()
    {
        var exception = PvmdClientException.FromRpcException(Failure(Code.FailedPrecondition, "PID_REUSED", "pid 42 started at tick 9, not 7"));

        var changed = Assert.IsType<TargetChangedException>(exception);
        Assert.Equal("PID_REUSED", changed.Reason);
        Assert.Null(changed.Cause);
    }

    [Fact]
    public void FromRpcException_WithoutDetails_FallsBackToTheStatusDetail()
    {
        var rpc = new RpcException(new Grpc.Core.Status(StatusCode.NotFound, "no process 42"));

        var exception = PvmdClientException.FromRpcException(rpc);

        Assert.IsType<TargetNotFoundException>(exception);
        Assert.Null(exception.Reason);
        Assert.Equal("no process 42", exception.Detail);
    }

    [Fact]
    public void FromRpcException_EmptyDetail_GetsASentenceAnyway()
    {
        var rpc = new RpcException(new Grpc.Core.Status(StatusCode.NotFound, ""));

        var exception = PvmdClientException.FromRpcException(rpc);

        Assert.False(string.IsNullOrWhiteSpace(exception.Message));
    }

    [Fact]
    public void FromRpcException_MalformedDetailsTrailer_KeepsTheStatus()
    {
        var trailers = new Metadata { { "grpc-status-details-bin", new byte[] { 0xff, 0xff, 0xff } } };
        var rpc = new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, "denied"), trailers);

        var exception = PvmdClientException.FromRpcException(rpc);

        Assert.IsType<AccessDeniedException>(exception);
        Assert.Equal("denied", exception.Detail);
    }

    [Fact]
    public void FromRpcException_Unavailable_NamesTheEndpointAndTheTransportsWords()
    {
        var socketError = new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused);
        var rpc = new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "Error connecting to subchannel.", socketError));

        var exception = PvmdClientException.FromRpcException(rpc, "unix:/run/pvmd/pvmd.sock");

        Assert.IsType<DaemonUnavailableException>(exception);
        Assert.StartsWith("cannot reach the daemon at unix:/run/pvmd/pvmd.sock: ", exception.Message);
        Assert.EndsWith(socketError.Message, exception.Message);
    }

    [Fact]
    public void FromRpcException_ErrorInfoOfAnyDomain_IsStillRead()
    {
        var info = new ErrorInfo { Domain = "other.example", Reason = "ESRCH" };
        var rpc = new Google.Rpc.Status { Code = (int)Code.NotFound, Message = "m", Details = { Any.Pack(info) } }.ToRpcException();

        Assert.Equal("ESRCH", PvmdClientException.FromRpcException(rpc).Reason);
    }

    [Fact]
    public void ErrorInfo_RoundTripsThroughTheTrailerAsBytes()
    {
        // The daemon sends the status as protobuf bytes; check the test helper builds the same.
        var rpc = Failure(Code.NotFound, "ESRCH", "no process with pid 7");
        var bytes = rpc.Trailers.GetValueBytes("grpc-status-details-bin");

        var status = Google.Rpc.Status.Parser.ParseFrom(ByteString.CopyFrom(bytes));

        Assert.Equal((int)Code.NotFound, status.Code);
        Assert.Equal("ESRCH", status.Details[0].Unpack<ErrorInfo>().Reason);
    }
}
