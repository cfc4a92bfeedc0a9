using System.Globalization;

namespace Pvmd.Tests.Infrastructure;

internal static class Pids
{
    /// <summary>A pid that names no process now: the highest free one below pid_max, where
    /// the kernel reaches last when it hands out pids.</summary>
    public static int Free()
    {
        var pidMax = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), CultureInfo.InvariantCulture);
        for (var pid = pidMax - 1; pid > 1; pid--)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                return pid;
            }
        }
        throw new InvalidOperationException("every pid is in use");
    }
}
