using System.Diagnostics;

namespace Pvmd.Tests.Infrastructure;

/// <summary>What one pvmctl run printed, and how it exited.</summary>
public sealed record CliResult(int ExitCode, byte[] StandardOutputBytes, string StandardError)
{
    public string StandardOutput => System.Text.Encoding.UTF8.GetString(StandardOutputBytes);

    /// <summary>The lines of stdout, without the final newline's empty line.</summary>
    public string[] OutputLines => StandardOutput.TrimEnd('\n').Split('\n');

    public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
}

/// <summary>Runs the real pvmctl against a daemon's socket.</summary>
public static class CliRunner
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs <c>pvmctl ARGS... --socket SOCKET</c> and waits for it to exit.</summary>
    public static async Task<CliResult> RunAsync(string socketPath, params string[] arguments)
    {
        var start = new ProcessStartInfo(RepoPaths.Cli)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.ArgumentList.Add("--socket");
        start.ArgumentList.Add(socketPath);
        // Make the output independent of the terminal the tests run from.
        start.Environment["NO_COLOR"] = "1";
        start.Environment["COLUMNS"] = "200";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("pvmctl did not start");
        process.StandardInput.Close();
        // Bytes, not text: `read --format raw` writes memory to stdout.
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"pvmctl {string.Join(' ', arguments)} did not exit within {s_timeout.TotalSeconds} s");
        }
        await copy;
        return new CliResult(process.ExitCode, stdout.ToArray(), await stderr);
    }
}
