namespace Pvmd.Tests.Deploy;

/// <summary>deploy/systemd/pvmd.service under a real systemd (PID 1 of a podman container, as this
/// host's own PID 1 is not systemd): see deploy/systemd/test-under-systemd.sh.</summary>
[Collection(ContainerImageCollection.Name)]
[Trait("Category", "Container")]
public sealed class SystemdServiceTests
{
    [Fact]
    public void Service_UnderSystemd_RunsAsPvmdWithOnlySysPtraceAndServesPvmctl()
    {
        // The daemon published for this host by the image build.
        _ = ImageBuild.Version;
        var daemon = RepositoryFiles.PathOf("deploy/container/.cache/context/publish/linux-amd64");
        var cli = Path.GetDirectoryName(RepositoryFiles.BuiltCli)!;

        var result = RepositoryFiles.Run("bash", ["deploy/systemd/test-under-systemd.sh", daemon, cli], TimeSpan.FromMinutes(40));

        Assert.True(result.ExitCode == 0 && result.Output.Contains("test-under-systemd: ok", StringComparison.Ordinal),
            $"test-under-systemd.sh ({result.ExitCode}):\n{result.Both}");
    }
}
