using System.Globalization;
using Pvmd.Core.Interop;

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
    /// <remarks>Every request pins its target and reads this file, so it is read with three
    /// syscalls (open, pread, close) rather than through a FileStream (which adds fstat and
    /// two flocks).</remarks>
    public static ProcStat? TryRead(int pid, string procRoot = "/proc")
    {
        var fd = OpenFile(pid, procRoot);
        if (fd < 0)
        {
            return null;
        }
        try
        {
            return TryReadOpenFile(fd);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Opens /proc/PID/stat; -1 when the process does not exist. An open stat file
    /// keeps describing the process it was opened for: once that one is gone, reads fail, even
    /// if the pid has been given to another process.</summary>
    internal static int OpenFile(int pid, string procRoot = "/proc") =>
        Libc.Open($"{procRoot}/{pid}/stat", Libc.ORdonly | Libc.OCloexec);

    /// <summary>Reads an open stat file afresh (procfs makes its text on each read); null when
    /// its process is gone.</summary>
    internal static unsafe ProcStat? TryReadOpenFile(int fd)
    {
        // A stat line is at most a few hundred bytes: 52 numbers and a command of at most 64.
        var buffer = stackalloc byte[4096];
        var length = Libc.Pread(fd, buffer, 4096, 0);
        return length <= 0 ? null : Parse(System.Text.Encoding.UTF8.GetString(buffer, (int)length));
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
        // Fields after the command start at field 3 (state); the ones used are the state (3),
        // the parent (4), the flags (9) and the start time (22). Read in place: every request
        // pins its target and parses this line.
        var rest = text.AsSpan(close + 1);
        char state = default;
        int parent = 0;
        uint flags = 0;
        ulong startTime = 0;
        var index = 0;
        foreach (var range in rest.Split(' '))
        {
            var field = rest[range];
            if (field.IsEmpty)
            {
                continue;
            }
            switch (index++)
            {
                case 0: state = field[0]; break;
                case 1: parent = int.Parse(field, CultureInfo.InvariantCulture); break;
                case 6: flags = uint.Parse(field, CultureInfo.InvariantCulture); break;
                case 19: startTime = ulong.Parse(field, CultureInfo.InvariantCulture); break;
            }
        }
        if (index < 20)
        {
            throw new FormatException("stat line too short");
        }
        return new ProcStat(pid, command, state, parent, flags, startTime);
    }
}
