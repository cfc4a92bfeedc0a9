using System.Diagnostics;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using Range = Pvmd.V1.Range;

namespace Pvmd.Tests.Integration;

/// <summary>How pvmd starts and stops: where it takes its options from, what it refuses, and
/// what it does with its socket. Each test runs its own daemon.</summary>
public sealed class DaemonStartupTests : IDisposable
{
    private static readonly TimeSpan s_exitTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("pvmd-startup-");

    private string Socket => Path.Combine(_directory.FullName, "pvmd.sock");

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory]
    [InlineData("PVMD_SOCKET")]
    [InlineData("Pvmd__Socket")]
    public async Task Socket_FromTheEnvironment_IsWhereItServes(string variable)
    {
        await using var daemon = DaemonProcess.Start(Socket, [], new Dictionary<string, string> { [variable] = Socket });

        await daemon.WaitUntilServingAsync();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await daemon.CheckHealthAsync());
    }

    [Theory]
    [InlineData(new[] { "--socket", "/tmp/x.sock", "--bogus", "1" }, "--bogus")]
    [InlineData(new[] { "--socket", "relative.sock" }, "absolute")]
    [InlineData(new[] { "--socket" }, "--socket")]
    [InlineData(new[] { "--socket", "/tmp/x.sock", "--chunk-bytes", "12" }, "--chunk-bytes")]
    public async Task BadCommandLine_ExitsWithCode2AndSaysWhy(string[] arguments, string named)
    {
        await using var daemon = DaemonProcess.Start(Socket, arguments);

        var code = await daemon.WaitForExitAsync(s_exitTimeout);

        Assert.True(code == 2, $"exit code {code}:\n{daemon.Log}");
        Assert.Contains(named, daemon.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SocketInUse_ASecondDaemonExits1_TheFirstKeepsServing_AndSigtermRemovesTheSocket()
    {
        await using var first = DaemonProcess.Start(Socket, ["--socket", Socket]);
        await first.WaitUntilServingAsync();

        await using var second = DaemonProcess.Start(Socket, ["--socket", Socket]);
        var secondCode = await second.WaitForExitAsync(s_exitTimeout);
        var firstHealth = await first.CheckHealthAsync();
        using (var term = Process.Start("kill", ["-TERM", first.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }
        var firstCode = await first.WaitForExitAsync(s_exitTimeout);

        Assert.True(secondCode == 1, $"second daemon exit code {secondCode}:\n{second.Log}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, firstHealth);
        Assert.True(firstCode == 0, $"exit code after SIGTERM {firstCode}:\n{first.Log}");
        Assert.False(File.Exists(Socket), "the socket file outlived the daemon");
    }

    [Fact]
    public async Task StaleSocketFile_IsReplaced()
    {
        // A socket file nobody listens on, as a crashed daemon leaves behind. The socket stays
        // open (bound, never listening) because .NET unlinks the file when it closes one.
        using var stale = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stale.Bind(new UnixDomainSocketEndPoint(Socket));
        Assert.True(File.Exists(Socket));

        await using var daemon = DaemonProcess.Start(Socket, ["--socket", Socket]);

        await daemon.WaitUntilServingAsync();
    }

    [Fact]
    public async Task MaxRangesOption_BoundsTheRangesOfOneRead()
    {
        await using var daemon = DaemonProcess.Start(Socket, ["--socket", Socket, "--max-ranges", "10"]);
        await daemon.WaitUntilServingAsync();
        using var target = TargetProcess.Start(patternPages: 1);
        ReadRemoteRequest Request(int count)
        {
            var request = new ReadRemoteRequest { Target = target.Target };
            request.Ranges.AddRange(Enumerable.Range(0, count).Select(i => new Range { Address = target.Pattern.Start + (ulong)i, Length = 1 }));
            return request;
        }

        var ten = await ReadOutcome.ReadAsync(daemon.Client, Request(10));
        var eleven = await Assert.ThrowsAsync<RpcException>(() => ReadOutcome.ReadAsync(daemon.Client, Request(11)));

        Assert.Equal(10, ten.RangeCount);
        Expect.Error(eleven, StatusCode.InvalidArgument, "INVALID_REQUEST");
    }
}
