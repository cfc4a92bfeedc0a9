namespace Pvmd.Tests.Deploy;

/// <summary>What the container tests need on a fresh machine that has only the .NET SDK:
/// Debian packages installed through apt when missing, and podman called the way this kind of
/// host needs (runc, cgroupfs).</summary>
internal static class ContainerTooling
{
    private static readonly Lock s_aptLock = new();
    private static bool s_aptUpdated;

    public static void AptInstall(params string[] packages)
    {
        lock (s_aptLock)
        {
            var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            if (!s_aptUpdated)
            {
                var update = RepositoryFiles.Run("apt-get", ["update", "-qq"], TimeSpan.FromMinutes(10), environment);
                Assert.True(update.ExitCode == 0, $"apt-get update failed:\n{update.Both}");
                s_aptUpdated = true;
            }
            var install = RepositoryFiles.Run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", .. packages], TimeSpan.FromMinutes(15), environment);
            Assert.True(install.ExitCode == 0, $"apt-get install {string.Join(' ', packages)} failed:\n{install.Both}");
        }
    }

    public static void EnsurePodman()
    {
        if (!File.Exists("/usr/bin/podman") || !File.Exists("/usr/sbin/runc") && !File.Exists("/usr/bin/runc"))
        {
            AptInstall("podman", "runc");
        }
    }

    /// <summary>podman with the OCI runtime and cgroup manager that work on this kind of host
    /// (crun fails on hybrid cgroups; systemd is not PID 1).</summary>
    public static RepositoryFiles.Result Podman(TimeSpan timeout, params string[] arguments) =>
        RepositoryFiles.Run("podman", ["--runtime", "runc", "--cgroup-manager", "cgroupfs", .. arguments], timeout);

    public static string PodmanOk(TimeSpan timeout, params string[] arguments)
    {
        var result = Podman(timeout, arguments);
        Assert.True(result.ExitCode == 0, $"podman {string.Join(' ', arguments)} failed ({result.ExitCode}):\n{result.Both}");
        return result.Output.Trim();
    }
}
