using System.Diagnostics;
using System.Text.Json;
using Pvmd.Core.Procfs;
using Pvmd.TestTarget;

namespace Pvmd.Tests.Infrastructure;

/// <summary>
/// A running pvmd-test-target: its layout (from the JSON line it prints), its identity,
/// and its commands. Disposing closes its stdin (it exits) and kills it if it lingers.
/// </summary>
public sealed class TargetProcess : IDisposable
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly OutputLog _stderr;

    private TargetProcess(Process process, OutputLog stderr, TargetLayout layout, ProcStat stat)
    {
        _process = process;
        _stderr = stderr;
        Layout = layout;
        StartTime = stat.StartTime;
    }

    internal TargetLayout Layout { get; }

    public int Pid => Layout.Pid;

    /// <summary>Clock ticks after boot (/proc/PID/stat field 22), what the contract's Target.start_time names.</summary>
    public ulong StartTime { get; }

    public int PageSize => Layout.PageSize;

    internal TargetRegion Pattern => Layout.Pattern;

    internal TargetRegion Hole => Layout.Hole;

    internal TargetRegion ProtNone => Layout.ProtNone;

    internal TargetRegion ReadOnly => Layout.ReadOnly;

    internal TargetRegion Scratch => Layout.Scratch;

    /// <summary>The contract's name for this process, pinned by start time.</summary>
    public V1.Target Target => new() { Pid = Pid, StartTime = StartTime };

    public bool HasExited => _process.HasExited;

    /// <summary>Starts a target and waits for its layout line.</summary>
    public static TargetProcess Start(int patternPages = 4, string? tag = null)
    {
        var start = new ProcessStartInfo(RepoPaths.TestTarget)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--pattern-pages");
        start.ArgumentList.Add(patternPages.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (tag is not null)
        {
            start.ArgumentList.Add("--tag");
            start.ArgumentList.Add(tag);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("pvmd-test-target did not start");
        var stderr = new OutputLog();
        process.ErrorDataReceived += (_, e) => stderr.Append(e.Data);
        process.BeginErrorReadLine();
        try
        {
            var line = ReadLine(process, stderr);
            var layout = JsonSerializer.Deserialize(line, TargetLayoutJson.Default.TargetLayout)
                ?? throw new InvalidOperationException($"pvmd-test-target printed no layout: {line}");
            var stat = ProcStat.TryRead(layout.Pid)
                ?? throw new InvalidOperationException($"pvmd-test-target (pid {layout.Pid}) has no /proc entry");
            return new TargetProcess(process, stderr, layout, stat);
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>The target's own view of its memory (plain loads inside the target).</summary>
    public byte[] Dump(ulong address, int length) => Convert.FromHexString(Command($"dump 0x{address:x} {length}"));

    /// <summary>munmap one of the target's regions ("pattern", "hole", ...).</summary>
    public void Unmap(string region)
    {
        var answer = Command($"unmap {region}");
        if (answer != "ok")
        {
            throw new InvalidOperationException($"unmap {region}: {answer}");
        }
    }

    /// <summary>SIGKILL, and wait until the kernel has reaped it.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }
        _process.Dispose();
    }

    private string Command(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        var answer = ReadLine(_process, _stderr);
        return answer.StartsWith("error", StringComparison.Ordinal)
            ? throw new InvalidOperationException($"pvmd-test-target answered '{command}' with: {answer}")
            : answer;
    }

    private static string ReadLine(Process process, OutputLog stderr)
    {
        var read = process.StandardOutput.ReadLineAsync();
        if (!read.Wait(s_answerTimeout))
        {
            throw new TimeoutException($"pvmd-test-target (pid {process.Id}) did not answer within {s_answerTimeout.TotalSeconds} s; stderr:\n{stderr}");
        }
        return read.Result ?? throw new InvalidOperationException($"pvmd-test-target (pid {process.Id}) closed stdout; stderr:\n{stderr}");
    }
}

/// <summary>One target for all the tests of a class (4 pattern pages).</summary>
public sealed class TargetFixture : IDisposable
{
    public TargetProcess Target { get; } = TargetProcess.Start();

    public void Dispose() => Target.Dispose();
}
