using System.Diagnostics;
using System.Text;

namespace Pvmd.Tests.Deploy;

/// <summary>Paths in the checkout the tests run from, and a bounded way to run its scripts and tools.</summary>
internal static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>The configuration this test assembly was built in (Release or Debug), for the
    /// daemon built beside it.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar).Contains("Debug") ? "Debug" : "Release";

    public static string BuiltDaemon => PathOf($"server/Pvmd.Server/bin/{Configuration}/net10.0/pvmd");

    public static string BuiltCli => PathOf($"client/Pvmd.Cli/bin/{Configuration}/net10.0/pvmctl");

    /// <summary>The daemon's version: Directory.Build.props' Version.</summary>
    public static string Version =>
        System.Text.RegularExpressions.Regex.Match(Read("Directory.Build.props"), "<Version>(.*?)</Version>").Groups[1].Value;

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Daemon.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("the tests run outside a pvmd checkout");
    }

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string Both => Output + Error;
    }

    /// <summary>Runs a program to its end, killing it (and its children) after
    /// <paramref name="timeout"/>.</summary>
    public static Result Run(string program, IEnumerable<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (error)
                {
                    error.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} ran longer than {timeout}:\n{output}\n{error}");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString(), error.ToString());
    }
}
