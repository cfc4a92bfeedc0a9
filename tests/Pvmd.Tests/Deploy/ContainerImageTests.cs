using System.Globalization;
using System.Text.Json;

namespace Pvmd.Tests.Deploy;

/// <summary>Runs only the tests of this collection, after every other test, alone: the image
/// build takes both cores for minutes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ContainerImageCollection
{
    public const string Name = "container images";
}

/// <summary>Both images, built once per test run by deploy/container/build-images.sh (which
/// reuses its download cache and podman's layer cache when run again).</summary>
internal static class ImageBuild
{
    private static readonly Lazy<string> s_version = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Version => s_version.Value;

    public static string Tag(string arch) => $"localhost/pvmd:{Version}-{arch}";

    private static string Build()
    {
        ContainerTooling.EnsurePodman();
        var result = RepositoryFiles.Run("bash", ["deploy/container/build-images.sh"], TimeSpan.FromMinutes(45));
        Assert.True(result.ExitCode == 0, $"build-images.sh failed ({result.ExitCode}):\n{result.Both}");
        return RepositoryFiles.Version;
    }
}

/// <summary>The amd64 image running as the issue asks: all capabilities dropped but
/// SYS_PTRACE, the host's PID namespace, never --privileged, a read-only root with no tmpfs,
/// no network, and the socket directory bind-mounted from a host directory.</summary>
public sealed class Amd64Container : IDisposable
{
    private const int ImageUid = 65532;
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);
    private readonly Lazy<string> _socket;
    private readonly string _name = $"pvmd-test-{Guid.NewGuid():N}"[..24];
    private DirectoryInfo? _socketDirectory;
    private bool _started;

    public Amd64Container() => _socket = new Lazy<string>(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The daemon's socket on the host, once the container serves it.</summary>
    public string Socket => _socket.Value;

    public string Name => _name;

    private string Start()
    {
        var image = ImageBuild.Tag("amd64");
        _socketDirectory = Directory.CreateTempSubdirectory("pvmd-container-");
        // The image's uid creates the socket there.
        File.SetUnixFileMode(_socketDirectory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal(0, RepositoryFiles.Run("chown", [$"{ImageUid}:{ImageUid}", _socketDirectory.FullName], s_timeout).ExitCode);
        _started = true;
        ContainerTooling.PodmanOk(s_timeout,
            "run", "--detach", "--name", _name,
            "--cap-drop", "ALL", "--cap-add", "SYS_PTRACE",
            "--pid", "host", "--network", "none",
            "--read-only", "--read-only-tmpfs=false",
            // Without CAP_SYS_RESOURCE on the host, podman's default limits (above the host's
            // hard limits) cannot be set: ask for modest ones.
            "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
            // No systemd timer for the HEALTHCHECK here; the test runs it by hand.
            "--health-interval", "disable",
            "--volume", $"{_socketDirectory.FullName}:/run/pvmd",
            image);
        var socket = Path.Combine(_socketDirectory.FullName, "pvmd.sock");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
        }
        Assert.True(File.Exists(socket), $"the container made no socket in 60 s:\n{Logs()}");
        return socket;
    }

    public string Logs() => ContainerTooling.Podman(s_timeout, "logs", _name).Both;

    public void Dispose()
    {
        if (_started)
        {
            ContainerTooling.Podman(s_timeout, "rm", "--force", "--time", "5", _name);
        }
        _socketDirectory?.Delete(recursive: true);
    }
}

[Collection(ContainerImageCollection.Name)]
[Trait("Category", "Container")]
public sealed class Amd64ContainerTests(Amd64Container container) : IClassFixture<Amd64Container>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(3);

    private RepositoryFiles.Result Pvmctl(params string[] arguments)
    {
        Assert.True(File.Exists(RepositoryFiles.BuiltCli), $"build the solution first: no {RepositoryFiles.BuiltCli}");
        return RepositoryFiles.Run(RepositoryFiles.BuiltCli, [.. arguments, "--socket", container.Socket], s_timeout);
    }

    private JsonElement PvmctlJson(params string[] arguments)
    {
        var result = Pvmctl(arguments);
        Assert.True(result.ExitCode == 0, $"pvmctl {string.Join(' ', arguments)} ({result.ExitCode}):\n{result.Both}\n{container.Logs()}");
        return JsonDocument.Parse(result.Output).RootElement;
    }

    [Fact]
    public void Daemon_RunsAsTheImageUidWithOnlySysPtrace()
    {
        _ = container.Socket;
        var pid = ContainerTooling.PodmanOk(s_timeout, "inspect", "--format", "{{.State.Pid}}", container.Name);
        var status = File.ReadAllLines($"/proc/{pid}/status").ToDictionary(l => l.Split(':')[0], l => l.Split(':', 2)[1].Trim());
        Assert.StartsWith("65532\t", status["Uid"]);
        // CAP_SYS_PTRACE is bit 19 and the only one, in every set.
        foreach (var set in new[] { "CapEff", "CapPrm", "CapBnd" })
        {
            Assert.Equal("0000000000080000", status[set]);
        }
    }

    [Fact]
    public void HealthCheck_OfTheImage_IsHealthy()
    {
        _ = container.Socket;
        var result = ContainerTooling.Podman(s_timeout, "healthcheck", "run", container.Name);
        Assert.True(result.ExitCode == 0, $"podman healthcheck run ({result.ExitCode}):\n{result.Both}\n{container.Logs()}");
    }

    [Fact]
    public void Pvmctl_Platform_ThroughThePublishedSocket_DescribesThisHost()
    {
        var platform = PvmctlJson("platform", "--json");
        Assert.Equal("x86_64", platform.GetProperty("arch").GetString());
        Assert.True(platform.GetProperty("hasCapSysPtrace").GetBoolean(), "the daemon in the container does not hold CAP_SYS_PTRACE");
        Assert.Equal(Environment.SystemPageSize, platform.GetProperty("pageSize").GetInt32());
    }

    [Fact]
    public void Pvmctl_Probe_AReducedSweep_Completes()
    {
        var result = Pvmctl("probe", "--before", "0..16", "--after", "1..8", "--misalignment", "0..1", "--json");
        // 0: every count matched the bytes changed; 8: the kernel disagreed somewhere. Both are answers.
        Assert.True(result.ExitCode is 0 or 8, $"pvmctl probe ({result.ExitCode}):\n{result.Both}\n{container.Logs()}");
        var last = JsonDocument.Parse(result.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.True(last.GetProperty("total").GetInt64() > 0);
        Assert.Equal("x86_64", last.GetProperty("host").GetProperty("arch").GetString());
    }

    /// <summary>Two nodes of a fleet, as a --nodes file names them: the containerised daemon and
    /// one started on the host. Same kernel, so they must agree.</summary>
    [Fact]
    public void Pvmctl_Compare_ThroughANodesFile_TheContainerAndTheHostAgree()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-nodes-");
        var hostSocket = Path.Combine(directory.FullName, "pvmd.sock");
        using var hostDaemon = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(RepositoryFiles.BuiltDaemon)
        {
            ArgumentList = { "--socket", hostSocket },
            RedirectStandardError = true,
        })!;
        hostDaemon.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!File.Exists(hostSocket) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            var nodes = Path.Combine(directory.FullName, "nodes.txt");
            File.WriteAllLines(nodes, ["# the fleet", $"{container.Socket}  # in the container", hostSocket]);

            Assert.True(File.Exists(RepositoryFiles.BuiltCli), $"build the solution first: no {RepositoryFiles.BuiltCli}");
            var result = RepositoryFiles.Run(RepositoryFiles.BuiltCli,
                ["compare", "--nodes", nodes, "--by-arch", "--before", "0..8", "--after", "1..4", "--misalignment", "0..1"], s_timeout);

            Assert.True(result.ExitCode == 0, $"pvmctl compare ({result.ExitCode}):\n{result.Both}\n{container.Logs()}");
            Assert.Contains("by architecture:", result.Output);
            Assert.Matches(@"nodes\s+2", result.Output);
        }
        finally
        {
            hostDaemon.Kill();
            hostDaemon.WaitForExit();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Pvmctl_Read_OfAHostProcess_ReturnsItsBytes()
    {
        using var target = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "600"))!;
        try
        {
            var pid = target.Id.ToString(CultureInfo.InvariantCulture);
            var maps = PvmctlJson("maps", "--pid", pid, "--json");
            // The executable's first mapping: its ELF header.
            var region = maps.GetProperty("regions").EnumerateArray().First(r =>
                r.GetProperty("permissions").GetString()!.StartsWith('r')
                && r.GetProperty("path").GetString()!.EndsWith("/sleep", StringComparison.Ordinal));
            var start = region.GetProperty("start").GetString()!;

            var read = PvmctlJson("read", "--pid", pid, "--address", start, "--length", "256", "--format", "json");
            var range = read.GetProperty("ranges")[0];
            Assert.Equal(256, range.GetProperty("bytesRead").GetInt64());
            var data = Convert.FromBase64String(range.GetProperty("segments")[0].GetProperty("data").GetString()!);

            var expected = new byte[256];
            using (var memory = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read))
            {
                memory.Seek(long.Parse(start[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture), SeekOrigin.Begin);
                memory.ReadExactly(expected);
            }
            Assert.Equal(expected, data);
            Assert.Equal("\u007fELF"u8.ToArray(), data[..4]);
        }
        finally
        {
            target.Kill();
            target.WaitForExit();
        }
    }
}

/// <summary>The arm64 image, built on this x86_64 host without emulation, is not run here (the
/// architecture lab's job); its content is checked instead.</summary>
[Collection(ContainerImageCollection.Name)]
[Trait("Category", "Container")]
public sealed class Arm64ImageTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private static JsonElement Inspect(string arch) =>
        JsonDocument.Parse(ContainerTooling.PodmanOk(s_timeout, "image", "inspect", ImageBuild.Tag(arch))).RootElement[0];

    [Fact]
    public void Arm64Image_IsConfiguredLikeTheAmd64One()
    {
        var arm64 = Inspect("arm64");
        var amd64 = Inspect("amd64");
        Assert.Equal("arm64", arm64.GetProperty("Architecture").GetString());
        Assert.Equal("amd64", amd64.GetProperty("Architecture").GetString());

        var config = arm64.GetProperty("Config");
        Assert.Equal("65532:65532", config.GetProperty("User").GetString());
        Assert.Equal(["/opt/pvmd/pvmd"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["CMD", "/opt/pvmd/pvmd", "--health-check"], arm64.GetProperty("Healthcheck").GetProperty("Test").EnumerateArray().Select(e => e.GetString()));
        var labels = config.GetProperty("Labels");
        Assert.Equal(ImageBuild.Version, labels.GetProperty("org.opencontainers.image.version").GetString());
        Assert.Equal("pvmd", labels.GetProperty("org.opencontainers.image.title").GetString());
        Assert.StartsWith(RepositoryFiles.Run("git", ["rev-parse", "HEAD"], s_timeout).Output.Trim(), labels.GetProperty("org.opencontainers.image.revision").GetString());
        Assert.Contains("PVMD_SOCKET=/run/pvmd/pvmd.sock", config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(
            amd64.GetProperty("Config").GetProperty("Env").EnumerateArray().Select(e => e.GetString()).Order(),
            config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).Order());

        var list = JsonDocument.Parse(ContainerTooling.PodmanOk(s_timeout, "manifest", "inspect", $"localhost/pvmd:{ImageBuild.Version}")).RootElement;
        Assert.Equal(["amd64", "arm64"], list.GetProperty("manifests").EnumerateArray()
            .Select(m => m.GetProperty("platform").GetProperty("architecture").GetString()).Order());
    }

    [Fact]
    public void Arm64Image_HoldsAarch64BinariesAndEveryLibraryTheyNeed()
    {
        var root = ContainerTooling.PodmanOk(s_timeout, "image", "mount", ImageBuild.Tag("arm64"));
        try
        {
            var app = Path.Combine(root, "opt/pvmd");
            var binaries = Directory.GetFiles(app).Where(ElfFile.IsElf).ToList();
            Assert.Contains(Path.Combine(app, "pvmd"), binaries);
            Assert.Contains(Path.Combine(app, "libcoreclr.so"), binaries);

            var libraryDirectories = new[] { "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "opt/pvmd" };
            foreach (var binary in binaries)
            {
                var elf = ElfFile.Read(binary);
                Assert.True(elf.Machine == ElfFile.MachineAarch64, $"{Path.GetFileName(binary)} is ELF machine {elf.Machine}, not aarch64");
                foreach (var library in elf.Needed)
                {
                    Assert.True(libraryDirectories.Any(d => Exists(root, $"/{d}/{library}")), $"{Path.GetFileName(binary)} needs {library}, which the image lacks");
                }
                if (elf.Interpreter is { } interpreter)
                {
                    Assert.True(Exists(root, interpreter), $"{Path.GetFileName(binary)}'s loader {interpreter} is not in the image");
                }
            }
            var libc = ElfFile.Read(Resolve(root, "/lib/aarch64-linux-gnu/libc.so.6"));
            Assert.Equal(ElfFile.MachineAarch64, libc.Machine);
        }
        finally
        {
            ContainerTooling.Podman(s_timeout, "image", "unmount", ImageBuild.Tag("arm64"));
        }
    }

    /// <summary>A path inside the image, with absolute symbolic links resolved inside it too.</summary>
    private static string Resolve(string root, string path)
    {
        var full = Path.Combine(root, path.TrimStart('/'));
        for (var hops = 0; hops < 10 && new FileInfo(full).LinkTarget is { } target; hops++)
        {
            full = target.StartsWith('/') ? Path.Combine(root, target.TrimStart('/')) : Path.Combine(Path.GetDirectoryName(full)!, target);
        }
        return full;
    }

    private static bool Exists(string root, string path) => File.Exists(Resolve(root, path));
}
