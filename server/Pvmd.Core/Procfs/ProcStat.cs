using System.Globalization;

namespace Pvmd.Core.Procfs;

/// <summary>The fields of /proc/PID/stat the daemon uses.</summary>
/// <param name="Flags">The kernel's PF_* flags (field 9).</param>
/// <param name="StartTime">Clock ticks after boot at which the process started (field 22):
/// with the pid, it names one process for good.</param>
public sealed record ProcStat(int Pid, string Command, char State, int ParentPid, uint Flags, ulong StartTime)
{
    private const uint PfKthread = 0x00200000;

    /// <summary>Kernel threads have no user address space to read.</summary>
    public bool IsKernelThread => (Flags & PfKthread) != 0;

    /// <summary>A zombie has exited; only its pid and exit status remain.</summary>
    public bool IsZombie => State is 'Z' or 'X';

    /// <summary>Reads /proc/PID/stat; null when the process does not exist.</summary>
    public static ProcStat? TryRead(int pid, string procRoot = "/proc")
    {
        string text;
        try
        {
            text = File.ReadAllText($"{procRoot}/{pid}/stat");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }
        return Parse(text);
    }

    /// <summary>Parses the text of a stat file. The command sits in parentheses and may itself
    /// contain spaces and ')' characters, so the fields are counted from the last ')'.</summary>
    public static ProcStat Parse(string text)
    {
        var open = text.IndexOf('(');
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            throw new FormatException("stat line without a (command)");
        }
        var pid = int.Parse(text.AsSpan(0, open).Trim(), CultureInfo.InvariantCulture);
        var command = text[(open + 1)..close];
        // Fields after the command start at field 3 (state).
        var rest = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length < 20)
        {
            throw new FormatException("stat line too short");
        }
        return new ProcStat(
            pid,
            command,
            rest[0][0],
            int.Parse(rest[1], CultureInfo.InvariantCulture),
            uint.Parse(rest[6], CultureInfo.InvariantCulture),
            ulong.Parse(rest[19], CultureInfo.InvariantCulture));
    }
}
