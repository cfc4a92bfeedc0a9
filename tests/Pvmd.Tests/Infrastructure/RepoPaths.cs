namespace Pvmd.Tests.Infrastructure;

/// <summary>Where the built programs the tests start live: the repository root is the first
/// directory above the test assembly that holds Daemon.sln, and the build configuration is
/// the one the test assembly itself was built with (its path is bin/CONFIGURATION/TFM/).</summary>
internal static class RepoPaths
{
    private const string TargetFramework = "net10.0";

    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = FindConfiguration();

    /// <summary>The daemon, <c>pvmd</c>.</summary>
    public static string Daemon => Program("server", "Pvmd.Server", "pvmd");

    /// <summary>The CLI, <c>pvmctl</c>.</summary>
    public static string Cli => Program("client", "Pvmd.Cli", "pvmctl");

    /// <summary>The benchmark, <c>pvmd-bench</c>.</summary>
    public static string Bench => Program("tests", "Pvmd.Bench", "pvmd-bench");

    /// <summary>The test target, <c>pvmd-test-target</c>.</summary>
    public static string TestTarget => Program("tests", "Pvmd.TestTarget", "pvmd-test-target");

    private static string Program(string area, string project, string name)
    {
        var path = Path.Combine(Root, area, project, "bin", Configuration, TargetFramework, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{name} is not built at {path}: build Daemon.sln ({Configuration}) first", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Daemon.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Daemon.sln above {AppContext.BaseDirectory}");
    }

    private static string FindConfiguration()
    {
        // AppContext.BaseDirectory is .../bin/<Configuration>/<TargetFramework>/
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return framework.Parent is { Parent.Name: "bin" } configuration
            ? configuration.Name
            : throw new InvalidOperationException($"the test assembly is not under bin/<Configuration>/: {AppContext.BaseDirectory}");
    }
}
