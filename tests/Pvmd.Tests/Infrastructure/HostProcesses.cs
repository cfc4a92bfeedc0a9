using System.Diagnostics;
using System.Globalization;
using Pvmd.Core.Procfs;

namespace Pvmd.Tests.Infrastructure;

/// <summary>Resident memory of a process, from /proc/PID/status: now and at its peak.</summary>
public sealed record ProcessMemory(long ResidentKilobytes, long PeakKilobytes);

/// <summary>Facts about processes of this host that the reliability tests aim at or measure.</summary>
public static class HostProcesses
{
    /// <summary>VmRSS and VmHWM of a process.</summary>
    public static ProcessMemory Memory(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }
        return new ProcessMemory(rss, peak);
    }

    /// <summary>A kernel thread's pid (PF_KTHREAD in /proc/PID/stat).</summary>
    public static int FindKernelThread()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ProcStat.TryRead(pid) is { IsKernelThread: true })
            {
                return pid;
            }
        }
        throw new InvalidOperationException("no kernel thread is visible in /proc");
    }

    /// <summary>The children of a process (/proc/PID/task/*/children).</summary>
    public static IReadOnlyList<int> Children(int pid) =>
        [.. Directory.EnumerateDirectories($"/proc/{pid}/task")
            .SelectMany(task => TryRead(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture))];

    private static string TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/// <summary>
/// A zombie: a child that has exited and that its parent never waits for. The parent is a
/// shell that starts `sleep 0` in the background and then becomes `sleep` itself (exec), which
/// never reaps. Disposing kills the parent, and init reaps both.
/// </summary>
public sealed class Zombie : IDisposable
{
    private readonly Process _parent;

    private Zombie(Process parent, int pid)
    {
        _parent = parent;
        Pid = pid;
    }

    public int Pid { get; }

    public static async Task<Zombie> StartAsync()
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("sleep 0 & echo $!; exec sleep 600");
        var parent = Process.Start(start) ?? throw new InvalidOperationException("sh did not start");
        var line = await parent.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("sh printed no pid");
        var pid = int.Parse(line, CultureInfo.InvariantCulture);
        for (var i = 0; i < 200; i++)
        {
            if (ProcStat.TryRead(pid) is { IsZombie: true })
            {
                return new Zombie(parent, pid);
            }
            await Task.Delay(25);
        }
        parent.Kill();
        throw new InvalidOperationException($"pid {pid} did not become a zombie");
    }

    public void Dispose()
    {
        _parent.Kill();
        _parent.WaitForExit();
        _parent.Dispose();
    }
}

/// <summary>Signal numbers for <see cref="DaemonFixture.Signal"/>.</summary>
public static class Signal
{
    public const int Hangup = 1;
    public const int Kill = 9;
    public const int Terminate = 15;
}
