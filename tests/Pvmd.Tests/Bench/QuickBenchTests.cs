using System.Diagnostics;
using Pvmd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Pvmd.Tests.Bench;

/// <summary>The benchmark's quick mode as CI runs it: every path works and returns the right
/// bytes (pvmd-bench checks them and exits 1 otherwise), and the table names every path.
/// Speed is reported, never asserted. Installs gdbserver through apt when it is missing.
/// Run alone with <c>bash tests/run-tests.sh --filter Category=Bench</c>.</summary>
[Trait("Category", "Bench")]
public sealed class QuickBenchTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task QuickMode_EveryPathWorks_AndTheTableNamesEachPath()
    {
        var (exitCode, stdout, stderr) = await RunAsync("--quick");
        output.WriteLine(stdout);
        output.WriteLine(stderr);

        Assert.True(exitCode == 0, $"pvmd-bench --quick exited with {exitCode}:\n{stdout}\n{stderr}");
        string[] paths =
        [
            "| in-process process_vm_readv, 1 MiB chunks",
            "| in-process process_vm_readv, 64 B",
            "| do-nothing gRPC server, stream of",
            "| do-nothing gRPC server, 64 B ReadRemote",
            "| pvmd gRPC, read 16 MiB",
            "| pvmd gRPC, read 64 MiB",
            "| pvmd gRPC, read 64 B",
            "| pvmd gRPC, scatter-gather",
            "| pvmd gRPC, probe",
            "| pvmd gRPC, daemon peak RSS",
            "| pvmd gRPC, write",
            "| pvmd gRPC, 64 B read, tracing on vs off",
            "| pvmd local path, read 16 MiB",
            "| pvmd local path, read 64 B",
            "| gdbserver, 'm' packets",
            "| gdbserver, 'm' packet, read 64 B",
        ];
        foreach (var path in paths)
        {
            Assert.Contains(path, stdout, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("FAILED", stdout, StringComparison.Ordinal);
        // gdbserver was found or installed: its rows hold figures, not "not installed".
        Assert.Contains(stdout.Split('\n'), line => line.StartsWith("| gdbserver, 'm' packets", StringComparison.Ordinal) && line.Contains("MB/s", StringComparison.Ordinal));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(RepoPaths.Bench)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("pvmd-bench did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"pvmd-bench {string.Join(' ', arguments)} did not exit within {s_timeout.TotalMinutes} min:\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
