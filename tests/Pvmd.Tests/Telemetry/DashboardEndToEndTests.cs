using System.Diagnostics;
using System.Globalization;
using Pvmd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Pvmd.Tests.Telemetry;

/// <summary>
/// End to end into a real observability tool: the Aspire Dashboard receives OTLP from pvmd
/// (over gRPC, with fault injection on) and from pvmctl (over HTTP/protobuf); pvmctl makes a
/// clean verified read, a verified write and a read that the injection turns into a mismatch;
/// the dashboard's API must then hold, per call, one trace from pvmctl's client span through
/// the daemon's server span to the syscall span, with the mismatch marked on all three and
/// nowhere else.
/// </summary>
public sealed class DashboardEndToEndTests(DashboardFixture dashboard, ITestOutputHelper output) : IClassFixture<DashboardFixture>
{
    private const int ExtraBytes = 8;
    private const string MismatchEvent = "pvmd.byte_count_mismatch";
    private static readonly TimeSpan s_exportDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_clean_read_a_verified_write_and_an_injected_mismatch_are_traced_from_pvmctl_to_the_syscall()
    {
        // Arrange
        using var directory = new TemporaryDirectory();
        var socket = Path.Combine(directory.Path, "pvmd.sock");
        await using var daemon = DaemonProcess.Start(
            socket,
            ["--socket", socket, "--otlp-endpoint", dashboard.OtlpGrpc.ToString(), "--inject-extra-bytes", ExtraBytes.ToString(CultureInfo.InvariantCulture)],
            // Spans leave within a tenth of a second instead of five.
            new Dictionary<string, string> { ["OTEL_BSP_SCHEDULE_DELAY"] = "100", ["OTEL_BLRP_SCHEDULE_DELAY"] = "100" });
        await daemon.WaitUntilServingAsync();
        using var target = TargetProcess.Start();
        var clean = target.Pattern.Start;
        var written = target.Scratch.Start;
        // 64 bytes before the hole page and 64 inside it: the kernel returns 64, the
        // injection writes 8 more past them.
        var acrossHole = target.Hole.Start + (ulong)target.PageSize - 64;

        // Act
        var read = await Pvmctl(daemon, "read", "--pid", Pid(target), "--address", Hex(clean), "--length", "64", "--verify", "--format", "json");
        var write = await Pvmctl(daemon, "write", "--pid", Pid(target), "--address", Hex(written), "--hex", "0102030405060708", "--verify", "--json");
        var mismatch = await Pvmctl(daemon, "read", "--pid", Pid(target), "--address", Hex(acrossHole), "--length", "128", "--verify", "--format", "json");

        // Assert: the CLI saw what the traces must show.
        output.WriteLine($"--- pvmd\n{daemon.Log}");
        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.True(write.ExitCode == 0, write.ToString());
        Assert.True(mismatch.ExitCode == 8, mismatch.ToString());
        var spans = await dashboard.WaitForSpansAsync(
            all => new[] { clean, written, acrossHole }.All(address => Trace(all, address) is { Count: >= 3 } trace && trace.Any(s => s.Scope == "Pvmd.Server")),
            s_exportDeadline,
            "the three traces (client, server and syscall spans)");

        var cleanTrace = Chain(spans, clean, "pvmd.v1.RemoteMemory/ReadRemote", "process_vm_readv");
        Assert.All(cleanTrace.All, span => Assert.DoesNotContain(span.Events, e => e.Name == MismatchEvent));
        Assert.Equal("false", cleanTrace.Syscall.Attribute("pvmd.mismatch"));
        Assert.Equal("true", cleanTrace.Syscall.Attribute("pvmd.verified"));
        Assert.Equal("64", cleanTrace.Syscall.Attribute("pvmd.returned"));
        Assert.Equal("64", cleanTrace.Syscall.Attribute("pvmd.actual"));
        Assert.All(cleanTrace.All, span => Assert.NotEqual(OtlpSpan.Error, span.StatusCode));

        var writeTrace = Chain(spans, written, "pvmd.v1.RemoteMemory/WriteRemote", "process_vm_writev");
        Assert.All(writeTrace.All, span => Assert.DoesNotContain(span.Events, e => e.Name == MismatchEvent));
        Assert.Equal("false", writeTrace.Syscall.Attribute("pvmd.mismatch"));
        Assert.Equal("8", writeTrace.Syscall.Attribute("pvmd.returned"));

        var mismatchTrace = Chain(spans, acrossHole, "pvmd.v1.RemoteMemory/ReadRemote", "process_vm_readv");
        foreach (var span in mismatchTrace.All)
        {
            var marked = Assert.Single(span.Events, e => e.Name == MismatchEvent);
            Assert.Equal("64", marked.Attributes["pvmd.returned"]);
            Assert.Equal("72", marked.Attributes["pvmd.actual"]);
            Assert.Equal("8", marked.Attributes["pvmd.changed_beyond_returned"]);
            Assert.Equal("0", marked.Attributes["pvmd.unwritten_below_returned"]);
            Assert.Equal("0", marked.Attributes["pvmd.first_modified_offset"]);
            Assert.Equal("71", marked.Attributes["pvmd.last_modified_offset"]);
            Assert.Equal("short_dirty", marked.Attributes["pvmd.class"]);
            Assert.Equal("true", marked.Attributes["pvmd.injected"]);
            Assert.Equal("true", span.Attribute("pvmd.mismatch"));
            Assert.Equal(OtlpSpan.Error, span.StatusCode);
            Assert.Contains("injected", span.StatusMessage, StringComparison.Ordinal);
        }
        // The daemon's events also say on what machine the kernel ran.
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), mismatchTrace.Syscall.Events.Single().Attributes["os.version"]);
        Assert.False(string.IsNullOrEmpty(mismatchTrace.Syscall.Events.Single().Attributes["host.arch"]));
    }

    /// <summary>The spans of the trace whose pvmctl client span names this address.</summary>
    private static List<OtlpSpan>? Trace(IReadOnlyList<OtlpSpan> spans, ulong address)
    {
        var client = spans.FirstOrDefault(s => s.Scope == "Pvmd.Client" && s.Attribute("pvmd.address") == Hex(address));
        return client is null ? null : [.. spans.Where(s => s.TraceId == client.TraceId)];
    }

    /// <summary>The client span, its server span child, and that one's syscall span child.</summary>
    private static (OtlpSpan Client, OtlpSpan Server, OtlpSpan Syscall, OtlpSpan[] All) Chain(IReadOnlyList<OtlpSpan> spans, ulong address, string clientName, string syscallName)
    {
        var trace = Trace(spans, address) ?? throw new InvalidOperationException($"no trace for {Hex(address)}");
        var client = Assert.Single(trace, s => s.Scope == "Pvmd.Client");
        Assert.Equal(clientName, client.Name);
        Assert.Equal(OtlpSpan.Client, client.Kind);
        Assert.Equal("pvmctl", client.Service);
        Assert.True(string.IsNullOrEmpty(client.ParentSpanId), $"pvmctl's span is the root: {client}");
        var server = Assert.Single(trace, s => s.Kind == OtlpSpan.Server);
        Assert.Equal("pvmd", server.Service);
        Assert.Equal(client.SpanId, server.ParentSpanId);
        var syscall = Assert.Single(trace, s => s.Scope == "Pvmd.Server" && s.Name == syscallName);
        Assert.Equal(server.SpanId, syscall.ParentSpanId);
        return (client, server, syscall, [client, server, syscall]);
    }

    private async Task<CliResult> Pvmctl(DaemonProcess daemon, params string[] arguments)
    {
        var result = await RunCliAsync(daemon.SocketPath, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = dashboard.OtlpHttp.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        }, arguments);
        output.WriteLine($"pvmctl {string.Join(' ', arguments)}: {result.ExitCode}");
        return result;
    }

    /// <summary>Runs pvmctl against the socket with extra environment variables (the OTLP ones).</summary>
    private static async Task<CliResult> RunCliAsync(string socketPath, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(RepoPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.ArgumentList.Add("--socket");
        start.ArgumentList.Add(socketPath);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("pvmctl did not start");
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"pvmctl {string.Join(' ', arguments)} did not exit within 60 s");
        }
        await copy;
        return new CliResult(process.ExitCode, stdout.ToArray(), await stderr);
    }

    private static string Pid(TargetProcess target) => target.Pid.ToString(CultureInfo.InvariantCulture);

    private static string Hex(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>A directory deleted with everything in it, when disposed.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("pvmd-telemetry-");

    public string Path => _directory.FullName;

    public void Dispose() => _directory.Delete(recursive: true);
}
