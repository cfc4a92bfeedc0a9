using System.Globalization;
using System.IO.Enumeration;
using System.Text;

namespace Pvmd.Core.Procfs;

/// <summary>A process as ListProcesses reports it.</summary>
public sealed record ProcessEntry(int Pid, int ParentPid, uint Uid, string Name, string CommandLine, ulong StartTime, string Executable);

/// <summary>Which processes a listing keeps.</summary>
/// <param name="NameGlob">Shell-style glob on the command name; null or empty keeps all.</param>
public sealed record ProcessFilter(string? NameGlob = null, uint? Uid = null, string? CommandLineContains = null)
{
    public bool Matches(ProcessEntry entry) =>
        (string.IsNullOrEmpty(NameGlob) || FileSystemName.MatchesSimpleExpression(NameGlob, entry.Name, ignoreCase: false))
        && (Uid is null || Uid == entry.Uid)
        && (string.IsNullOrEmpty(CommandLineContains) || entry.CommandLine.Contains(CommandLineContains, StringComparison.Ordinal));
}

/// <summary>Lists the processes of the daemon's PID namespace from /proc.</summary>
public static class ProcessTable
{
    public static IReadOnlyList<ProcessEntry> List(ProcessFilter filter, string procRoot = "/proc")
    {
        var result = new List<ProcessEntry>();
        foreach (var directory in Directory.EnumerateDirectories(procRoot))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            // A process may exit between the directory listing and the reads: skip it.
            var entry = TryRead(pid, procRoot);
            if (entry is not null && filter.Matches(entry))
            {
                result.Add(entry);
            }
        }
        result.Sort((a, b) => a.Pid.CompareTo(b.Pid));
        return result;
    }

    public static ProcessEntry? TryRead(int pid, string procRoot = "/proc")
    {
        var stat = ProcStat.TryRead(pid, procRoot);
        if (stat is null)
        {
            return null;
        }
        var uid = ReadUid(pid, procRoot);
        if (uid is null)
        {
            return null;
        }
        return new ProcessEntry(pid, stat.ParentPid, uid.Value, stat.Command, ReadCommandLine(pid, procRoot), stat.StartTime, ReadExecutable(pid, procRoot));
    }

    /// <summary>The real uid, from the Uid: line of /proc/PID/status.</summary>
    internal static uint? ReadUid(int pid, string procRoot)
    {
        try
        {
            foreach (var line in File.ReadLines($"{procRoot}/{pid}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line[4..].Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries);
                    return uint.Parse(fields[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>The NUL-separated argv joined with spaces; empty for kernel threads and zombies.</summary>
    internal static string ReadCommandLine(int pid, string procRoot)
    {
        try
        {
            var bytes = File.ReadAllBytes($"{procRoot}/{pid}/cmdline");
            var length = bytes.Length;
            while (length > 0 && bytes[length - 1] == 0)
            {
                length--;
            }
            var text = Encoding.UTF8.GetString(bytes, 0, length);
            return text.Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>The target of /proc/PID/exe; empty when it cannot be read (other users'
    /// processes without CAP_SYS_PTRACE, kernel threads).</summary>
    internal static string ReadExecutable(int pid, string procRoot)
    {
        try
        {
            return new FileInfo($"{procRoot}/{pid}/exe").LinkTarget ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
