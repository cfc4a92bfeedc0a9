using System.Diagnostics;
using System.Text;

namespace Pvmd.Bench.Hosting;

/// <summary>A program the bench started: its output kept for error messages, killed (with
/// its children) on dispose. Its environment holds no PVMD_*, Pvmd__* nor OTEL_* variable,
/// so the shell the bench runs from cannot change what is measured.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly StringBuilder _log = new();
    private readonly Lock _lock = new();

    private ChildProcess(Process process, string name, bool keepStdout)
    {
        Process = process;
        Name = name;
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginErrorReadLine();
        if (!keepStdout)
        {
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
        }
    }

    public Process Process { get; }

    public string Name { get; }

    public int Pid => Process.Id;

    /// <summary>What the program wrote (stderr, and stdout unless the caller reads it).</summary>
    public string Log
    {
        get
        {
            lock (_lock)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="path"/>; with <paramref name="keepStdout"/> the caller
    /// reads stdout itself and stdin stays open (the test target exits when it closes).</summary>
    public static ChildProcess Start(string name, string path, IEnumerable<string> arguments, bool keepStdout = false)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = keepStdout,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var variable in start.Environment.Keys.Where(k => k.StartsWith("PVMD_", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("Pvmd__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(variable);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        return new ChildProcess(process, name, keepStdout);
    }

    /// <summary>Waits until <paramref name="ready"/> holds; fails with the program's log if it
    /// exits first or takes longer than <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {Process.ExitCode} before it was ready:\n{Log}");
            }
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                last = e;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds} s (last error: {last?.Message}):\n{Log}");
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }
        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            // Keep the tail: a long run's log is only wanted for its last words.
            if (_log.Length > 64 << 10)
            {
                _log.Remove(0, _log.Length - (32 << 10));
            }
            _log.AppendLine(line);
        }
    }
}
