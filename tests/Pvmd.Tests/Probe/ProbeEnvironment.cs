using Pvmd.Core.Probe;

namespace Pvmd.Tests.Probe;

/// <summary>Where the built daemon is, so the probe's scratch child can be started from it
/// as the daemon would start itself.</summary>
internal static class ProbeEnvironment
{
    private static readonly Lazy<string> s_daemonPath = new(FindDaemon);

    public static string DaemonPath => s_daemonPath.Value;

    public static ScratchChildOptions ScratchChild(Action<int>? started = null) =>
        new(DaemonPath, []) { Started = started };

    private static string FindDaemon()
    {
        // tests/Pvmd.Tests/bin/<Configuration>/net10.0/: the daemon was built alongside.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent?.Name ?? "Debug";
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Daemon.sln")))
        {
            root = root.Parent;
        }
        if (root is null)
        {
            throw new InvalidOperationException($"no Daemon.sln above {AppContext.BaseDirectory}");
        }
        var path = Path.Combine(root.FullName, "server", "Pvmd.Server", "bin", configuration, "net10.0", "pvmd");
        return File.Exists(path) ? path : throw new FileNotFoundException("the daemon is not built", path);
    }
}

/// <summary>The probe tests that run the kernel: one at a time, so they neither compete for
/// the two cores nor see each other's children.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProbeKernelCollection
{
    public const string Name = "probe kernel";
}
