using System.Diagnostics;
using System.Text;
using Pvmd.Client;

namespace Pvmd.Tests.ArchLab;

/// <summary>Runs deploy/archlab/lab.sh, the lab's one entry point, so that the test and a person
/// at a shell boot guests the same way. Output is kept for the failure message.</summary>
internal static class LabScript
{
    public static string Root { get; } = FindRoot();

    public static string Path => System.IO.Path.Combine(Root, "deploy", "archlab", "lab.sh");

    /// <summary>Runs <c>lab.sh ARGS</c>; returns stdout, throws with stderr's end on failure.</summary>
    public static Task<string> RunAsync(TimeSpan timeout, params string[] arguments) =>
        RunAsync(timeout, new Dictionary<string, string>(), arguments);

    /// <summary>Runs <c>lab.sh ARGS</c> with extra environment variables (ARCHLAB_*).</summary>
    public static async Task<string> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        info.ArgumentList.Add(Path);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start bash");
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM first: lab.sh's exit trap then stops any guest it started.
            _ = Kill(process.Id);
            if (!process.WaitForExit(20_000))
            {
                process.Kill(entireProcessTree: true);
            }
            throw new TimeoutException($"lab.sh {string.Join(' ', arguments)} ran longer than {timeout}:\n{Tail(stderr)}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"lab.sh {string.Join(' ', arguments)} exited {process.ExitCode}:\n{Tail(stderr)}");
        }
        return stdout.ToString();
    }

    private static void Append(StringBuilder sink, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (sink)
        {
            sink.AppendLine(line);
        }
    }

    private static string Tail(StringBuilder sink)
    {
        lock (sink)
        {
            var lines = sink.ToString().Split('\n');
            return string.Join('\n', lines.TakeLast(60));
        }
    }

    private static bool Kill(int pid)
    {
        try
        {
            using var kill = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            return kill.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "deploy", "archlab", "lab.sh")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no deploy/archlab/lab.sh above {AppContext.BaseDirectory}");
    }
}

/// <summary>A running guest (<c>lab.sh start</c>): its daemon's URL on this host and the lab's
/// client certificate to call it with; disposing it powers the guest off (<c>lab.sh stop</c>).</summary>
internal sealed class LabGuest : IAsyncDisposable
{
    private LabGuest(string kernel, Uri address, PvmdTlsOptions tls, string run)
    {
        Kernel = kernel;
        Address = address;
        Tls = tls;
        Run = run;
    }

    public string Kernel { get; }

    /// <summary>https://127.0.0.1:PORT, forwarded to the guest daemon's TCP port.</summary>
    public Uri Address { get; }

    /// <summary>Mutual TLS as the lab's client: its certificate (the subject the guest's policy
    /// grants) and the lab's CA, the only one trusted for the guest daemon's certificate.</summary>
    public PvmdTlsOptions Tls { get; }

    /// <summary>The run directory: console log and timings.</summary>
    public string Run { get; }

    /// <param name="kernel">5.10, 6.1 or 6.12.</param>
    /// <param name="otlpPort">A port of an OTLP/HTTP receiver on this host's loopback, which the
    /// guest daemon then exports to (as 10.0.2.2:PORT); null for none.</param>
    public static async Task<LabGuest> StartAsync(string kernel, int? otlpPort = null)
    {
        var environment = new Dictionary<string, string>();
        if (otlpPort is { } port)
        {
            environment["ARCHLAB_OTLP"] = $"http://10.0.2.2:{port}";
            environment["ARCHLAB_OTLP_PROTOCOL"] = "http/protobuf";
        }
        var output = await LabScript.RunAsync(TimeSpan.FromMinutes(12), environment, "start", kernel);
        string Value(string key) => output.Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..]
            ?? throw new InvalidOperationException($"lab.sh start printed no {key}:\n{output}");
        var tls = PvmdTlsOptions.FromPemFiles(Value("ARCHLAB_TLS_CERT"), Value("ARCHLAB_TLS_KEY"), Value("ARCHLAB_TLS_CA"));
        return new LabGuest(kernel, new Uri(Value("ARCHLAB_ADDRESS")), tls, Value("ARCHLAB_RUN"));
    }

    /// <summary>A client of the guest daemon over mutual TLS.</summary>
    public PvmdClient CreateClient() => new(new PvmdClientOptions { Address = Address, Tls = Tls });

    /// <summary>RUN/timings as written by lab.sh (boot_seconds, daemon_start_seconds, ...).</summary>
    public string Timings => File.Exists(System.IO.Path.Combine(Run, "timings")) ? File.ReadAllText(System.IO.Path.Combine(Run, "timings")).Trim().Replace('\n', ' ') : "";

    public async ValueTask DisposeAsync() => await LabScript.RunAsync(TimeSpan.FromMinutes(1), "stop", Run);
}
