using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pvmd.Bench.Hosting;

namespace Pvmd.Bench.Gdb;

/// <summary>gdbserver, the peer to compare with: found on PATH, or installed from the
/// machine's Debian sources when missing and the bench runs as root.</summary>
internal static class GdbServer
{
    private const string Package = "gdbserver";

    /// <summary>The gdbserver executable, after installing it if needed; null with the reason
    /// when there is none.</summary>
    public static string? Find(Action<string> progress, out string why)
    {
        why = "";
        if (Which(Package) is { } found)
        {
            return found;
        }
        if (Environment.UserName != "root" || Which("apt-get") is null)
        {
            why = "not installed (install the gdbserver package)";
            return null;
        }
        progress("gdbserver is missing: apt-get install gdbserver");
        var install = AptGet("install", "-y", "-qq", "--no-install-recommends", Package);
        if (install.ExitCode != 0)
        {
            // A fresh machine may have no package lists yet.
            AptGet("update", "-qq");
            install = AptGet("install", "-y", "-qq", "--no-install-recommends", Package);
        }
        if (Which(Package) is { } installed)
        {
            return installed;
        }
        why = $"not installed (apt-get install gdbserver failed: {install.Output.Trim().Split('\n')[^1]})";
        return null;
    }

    /// <summary>Attaches a gdbserver to <paramref name="pid"/> (which stops it) and connects
    /// to it over TCP on 127.0.0.1.</summary>
    public static async Task<(ChildProcess Server, RspClient Client)> AttachAsync(string gdbserver, int pid)
    {
        var port = FreePort();
        var server = ChildProcess.Start("gdbserver", gdbserver, ["--attach", $"127.0.0.1:{port}", $"{pid}"]);
        try
        {
            RspClient? client = null;
            await server.WaitUntilAsync(async () =>
            {
                client = await RspClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return true;
            }, TimeSpan.FromSeconds(30));
            return (server, client!);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/sbin")
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    private static (int ExitCode, string Output) AptGet(params string[] arguments)
    {
        var start = new ProcessStartInfo("apt-get")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Another apt run on the machine holds the lock for a while: wait for it, as the lab does.
        foreach (var argument in (string[])["-o", "DPkg::Lock::Timeout=600", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("apt-get did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
