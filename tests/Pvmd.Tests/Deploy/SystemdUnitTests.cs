using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Pvmd.Tests.Deploy;

/// <summary>deploy/systemd/pvmd.service: systemd accepts it, it keeps the hardening the daemon
/// can live with, and the daemon speaks sd_notify as its Type=notify promises.</summary>
public sealed partial class SystemdUnitTests
{
    private const string UnitPath = "deploy/systemd/pvmd.service";

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, List<string>> Settings()
    {
        var settings = new Dictionary<string, List<string>>();
        foreach (var line in RepositoryFiles.Read(UnitPath).Split('\n'))
        {
            var match = Regex.Match(line, "^([A-Za-z]+)=(.*)$");
            if (match.Success)
            {
                var values = settings.TryGetValue(match.Groups[1].Value, out var existing) ? existing : settings[match.Groups[1].Value] = [];
                values.Add(match.Groups[2].Value);
            }
        }
        return settings;
    }

    /// <summary>The unit with ExecStart pointing at the daemon this test run built, since
    /// systemd-analyze verify checks that the executable exists.</summary>
    private static string UnitForThisBuild(string directory)
    {
        Assert.True(File.Exists(RepositoryFiles.BuiltDaemon), $"build the solution first: no {RepositoryFiles.BuiltDaemon}");
        var unit = RepositoryFiles.Read(UnitPath).Replace("ExecStart=/opt/pvmd/pvmd", $"ExecStart={RepositoryFiles.BuiltDaemon}", StringComparison.Ordinal);
        var path = Path.Combine(directory, "pvmd.service");
        File.WriteAllText(path, unit);
        return path;
    }

    private static string SystemdAnalyze()
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            ContainerTooling.AptInstall("systemd");
        }
        return "/usr/bin/systemd-analyze";
    }

    [Fact]
    public void Unit_PassesSystemdAnalyzeVerify()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-unit-");
        try
        {
            var result = RepositoryFiles.Run(SystemdAnalyze(), ["verify", UnitForThisBuild(directory.FullName)], s_timeout);
            Assert.True(result.ExitCode == 0 && result.Both.Trim().Length == 0, $"systemd-analyze verify:\n{result.Both}");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Unit_ExposureScoreStaysLow()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-unit-");
        try
        {
            var result = RepositoryFiles.Run(SystemdAnalyze(), ["security", "--offline=true", "--no-pager", UnitForThisBuild(directory.FullName)], s_timeout);
            var score = ExposureLevel().Match(result.Both);
            Assert.True(score.Success, $"no exposure level in:\n{result.Both}");
            // 0 is a unit that can do nothing, 10 an unhardened one; CAP_SYS_PTRACE and the
            // network listener are the daemon's job and cost about 1 of it.
            Assert.True(double.Parse(score.Groups[1].Value, CultureInfo.InvariantCulture) <= 3.0, result.Both);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"Overall exposure level for \S+: ([0-9.]+)")]
    private static partial Regex ExposureLevel();

    [Fact]
    public void Unit_HoldsOnlySysPtraceForADedicatedUser()
    {
        var settings = Settings();
        Assert.Equal(["CAP_SYS_PTRACE"], settings["CapabilityBoundingSet"]);
        Assert.Equal(["CAP_SYS_PTRACE"], settings["AmbientCapabilities"]);
        Assert.Equal(["yes"], settings["NoNewPrivileges"]);
        Assert.Equal(["pvmd"], settings["User"]);
        Assert.Contains("u pvmd ", RepositoryFiles.Read("deploy/systemd/pvmd.sysusers.conf"));
    }

    [Fact]
    public void Unit_KeepsTheHardeningTheDaemonCanLiveWith()
    {
        var settings = Settings();
        Assert.Equal(["notify"], settings["Type"]);
        Assert.Equal(["strict"], settings["ProtectSystem"]);
        Assert.Equal(["yes"], settings["ProtectHome"]);
        Assert.Equal(["yes"], settings["PrivateTmp"]);
        Assert.Equal(["pvmd"], settings["RuntimeDirectory"]);
        Assert.Equal(["pvmd"], settings["StateDirectory"]);
        Assert.Equal(["AF_UNIX AF_INET AF_INET6"], settings["RestrictAddressFamilies"]);
        Assert.Equal(["native"], settings["SystemCallArchitectures"]);
        Assert.Equal(["yes"], settings["LockPersonality"]);
        Assert.Equal(["yes"], settings["ProtectKernelTunables"]);
        // process_vm_readv/writev live in @debug; without it every read fails with EPERM.
        Assert.Contains(settings["SystemCallFilter"], f => f.Split(' ').Contains("@debug"));
        // The JIT needs executable pages it wrote; hidepid and a private user namespace would
        // hide or disarm what the daemon is for.
        Assert.False(settings.ContainsKey("MemoryDenyWriteExecute"));
        Assert.False(settings.ContainsKey("PrivateUsers"));
        Assert.Equal(["default"], settings["ProtectProc"]);
        Assert.Equal(["/run/pvmd/pvmd.sock"], settings["Environment"].Where(e => e.StartsWith("PVMD_SOCKET=", StringComparison.Ordinal)).Select(e => e["PVMD_SOCKET=".Length..]));
    }

    /// <summary>Type=notify works only if the daemon says READY=1 once its socket listens, and
    /// STOPPING=1 when told to stop. The daemon's systemd support (UseSystemd) acts only when
    /// its parent process is named systemd, so a copy of timeout(1) named systemd starts it.</summary>
    [Fact]
    public void Daemon_UnderSystemd_NotifiesReadyAfterTheSocketListensAndStopping()
    {
        var directory = Directory.CreateTempSubdirectory("pvmd-notify-");
        try
        {
            var fakeSystemd = Path.Combine(directory.FullName, "systemd");
            File.Copy("/usr/bin/timeout", fakeSystemd);
            var notifyPath = Path.Combine(directory.FullName, "notify");
            var daemonSocket = Path.Combine(directory.FullName, "pvmd.sock");
            using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
            notify.ReceiveTimeout = (int)s_timeout.TotalMilliseconds;

            var start = new System.Diagnostics.ProcessStartInfo(fakeSystemd)
            {
                ArgumentList = { "60", RepositoryFiles.BuiltDaemon, "--socket", daemonSocket },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            start.Environment["NOTIFY_SOCKET"] = notifyPath;
            using var parent = System.Diagnostics.Process.Start(start)!;
            parent.BeginErrorReadLine();
            parent.BeginOutputReadLine();
            try
            {
                var buffer = new byte[4096];
                var ready = Encoding.ASCII.GetString(buffer, 0, notify.Receive(buffer));
                Assert.Contains("READY=1", ready);
                Assert.True(File.Exists(daemonSocket), "READY=1 came before the socket existed");

                // SIGTERM, as systemd's stop sends it.
                var children = File.ReadAllText($"/proc/{parent.Id}/task/{parent.Id}/children").Trim();
                var daemon = children.Split(' ')[0];
                Assert.Equal(0, RepositoryFiles.Run("kill", ["-TERM", daemon], s_timeout).ExitCode);
                var stopping = Encoding.ASCII.GetString(buffer, 0, notify.Receive(buffer));
                Assert.Contains("STOPPING=1", stopping);
                Assert.True(parent.WaitForExit(s_timeout), "the daemon did not stop on SIGTERM");
                Assert.Equal(0, parent.ExitCode);
            }
            finally
            {
                if (!parent.WaitForExit(s_timeout))
                {
                    parent.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
