namespace Pvmd.Bench.Hosting;

/// <summary>Where the programs the bench starts live: built with the bench, in the same
/// configuration, under the repository root (the first directory above the bench that holds
/// Daemon.sln). PVMD_BENCH_DAEMON and PVMD_BENCH_TARGET override them.</summary>
internal static class BenchPaths
{
    private const string TargetFramework = "net10.0";

    /// <summary>The daemon, <c>pvmd</c>.</summary>
    public static string Daemon => Environment.GetEnvironmentVariable("PVMD_BENCH_DAEMON") ?? Program("server", "Pvmd.Server", "pvmd");

    /// <summary>The test target, <c>pvmd-test-target</c>.</summary>
    public static string TestTarget => Environment.GetEnvironmentVariable("PVMD_BENCH_TARGET") ?? Program("tests", "Pvmd.TestTarget", "pvmd-test-target");

    /// <summary>This program, re-run as the do-nothing gRPC server.</summary>
    public static string Self => Environment.ProcessPath ?? throw new InvalidOperationException("the bench cannot tell its own path");

    private static string Program(string area, string project, string name)
    {
        // AppContext.BaseDirectory is <root>/tests/Pvmd.Bench/bin/<Configuration>/<TargetFramework>/
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent?.Name ?? "Release";
        for (var directory = framework; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Daemon.sln")))
            {
                var path = Path.Combine(directory.FullName, area, project, "bin", configuration, TargetFramework, name);
                return File.Exists(path)
                    ? path
                    : throw new FileNotFoundException($"{name} is not built at {path}: build Daemon.sln ({configuration}) first", path);
            }
        }
        throw new InvalidOperationException($"no Daemon.sln above {AppContext.BaseDirectory}");
    }
}
