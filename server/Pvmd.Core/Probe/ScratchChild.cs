using System.Diagnostics;
using System.Globalization;
using Pvmd.Core.Host;

namespace Pvmd.Core.Probe;

/// <summary>
/// The probe's default target: the daemon's own executable re-run in a hidden mode. It maps
/// the probe's layout, says where on stdout, and lives until its stdin closes, which also
/// happens when the daemon dies, so it never outlives its parent for long.
/// </summary>
public static class ScratchChild
{
    /// <summary>The first command-line argument that selects the child mode.</summary>
    public const string Argument = "--scratch-child";

    private const string LinePrefix = "pvmd-scratch-child";

    /// <summary>Runs the child mode. <paramref name="args"/> are the arguments after
    /// <see cref="Argument"/>: optionally the guard kind, "prot-none" (default) or "munmap".</summary>
    /// <returns>The process exit code: 0 once stdin closes, 2 for bad arguments, 1 when the
    /// memory could not be mapped.</returns>
    public static unsafe int RunChildMode(IReadOnlyList<string> args)
    {
        GuardKind guard;
        if (args.Count == 0)
        {
            guard = GuardKind.ProtNone;
        }
        else if (args.Count == 1 && TryParseGuard(args[0], out var parsed))
        {
            guard = parsed;
        }
        else
        {
            Console.Error.WriteLine($"usage: {Argument} [prot-none|munmap]");
            return 2;
        }

        MappedArena arena;
        try
        {
            arena = MappedArena.Create(HostFacts.PageSizeBytes, guard);
        }
        catch (SystemCallException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        using (arena)
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{LinePrefix} pid={Environment.ProcessId} base=0x{(ulong)arena.Base:x} page={arena.Layout.PageSize} guard={GuardName(guard)}"));
            Console.Out.Flush();
            using var stdin = Console.OpenStandardInput();
            Span<byte> buffer = stackalloc byte[64];
            while (stdin.Read(buffer) > 0)
            {
            }
        }
        return 0;
    }

    internal static string GuardName(GuardKind guard) => guard == GuardKind.Munmap ? "munmap" : "prot-none";

    private static bool TryParseGuard(string text, out GuardKind guard)
    {
        switch (text)
        {
            case "prot-none":
                guard = GuardKind.ProtNone;
                return true;
            case "munmap":
                guard = GuardKind.Munmap;
                return true;
            default:
                guard = default;
                return false;
        }
    }

    /// <summary>Parses the child's one line: where its arena is.</summary>
    internal static bool TryParseLine(string? line, out int pid, out ulong arenaBase, out int pageSize)
    {
        pid = 0;
        arenaBase = 0;
        pageSize = 0;
        if (line is null || !line.StartsWith(LinePrefix + " ", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var field in line[(LinePrefix.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = field.IndexOf('=');
            if (equals < 0)
            {
                return false;
            }
            var value = field.AsSpan(equals + 1);
            var ok = field.AsSpan(0, equals) switch
            {
                "pid" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out pid),
                "base" => value.StartsWith("0x") && ulong.TryParse(value[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out arenaBase),
                "page" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }
        return pid > 0 && arenaBase != 0 && pageSize > 0;
    }
}

/// <summary>How to start the scratch child: an executable and the arguments that come before
/// <see cref="ScratchChild.Argument"/> (the entry assembly when the daemon runs under the
/// dotnet host).</summary>
public sealed record ScratchChildOptions(string ExecutablePath, IReadOnlyList<string> LeadingArguments)
{
    /// <summary>How long the child may take to report its memory.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called with the child's pid as soon as it runs (tests use it to check the
    /// child is gone afterwards).</summary>
    public Action<int>? Started { get; init; }

    /// <summary>The running daemon's own executable.</summary>
    public static ScratchChildOptions ForCurrentProcess()
    {
        var path = Environment.ProcessPath ?? throw new ProbeAbortedException("the daemon's executable path is unknown: cannot start the scratch child");
        // Under `dotnet pvmd.dll` the process is the host; the assembly is the first argument.
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            return new ScratchChildOptions(path, [Environment.GetCommandLineArgs()[0]]);
        }
        return new ScratchChildOptions(path, []);
    }
}

/// <summary>A running scratch child. Dispose kills it and waits for it, so it is always reaped.</summary>
public sealed class ScratchChildProcess : IDisposable
{
    private readonly Process _process;
    private int _disposed;

    private ScratchChildProcess(Process process, int pid, ulong arenaBase, int pageSize)
    {
        _process = process;
        Pid = pid;
        ArenaBase = arenaBase;
        PageSize = pageSize;
    }

    public int Pid { get; }

    /// <summary>Where the child's copy of the probe layout starts.</summary>
    public ulong ArenaBase { get; }

    public int PageSize { get; }

    /// <summary>Starts the child and waits for its line.</summary>
    /// <exception cref="ProbeAbortedException">it could not start or said nothing usable.</exception>
    public static async Task<ScratchChildProcess> StartAsync(ScratchChildOptions options, GuardKind guard, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var info = new ProcessStartInfo(options.ExecutablePath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in options.LeadingArguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add(ScratchChild.Argument);
        info.ArgumentList.Add(ScratchChild.GuardName(guard));

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ProbeAbortedException($"could not start the scratch child {options.ExecutablePath}");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            throw new ProbeAbortedException($"could not start the scratch child {options.ExecutablePath}: {e.Message}", e);
        }
        try
        {
            options.Started?.Invoke(process.Id);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ProbeAbortedException($"the scratch child did not report its memory within {options.StartTimeout.TotalSeconds:0} s");
            }
            if (!ScratchChild.TryParseLine(line, out var pid, out var arenaBase, out var pageSize) || pid != process.Id)
            {
                throw new ProbeAbortedException($"the scratch child {options.ExecutablePath} did not report its memory (it said \"{line}\"{ErrorOutput(process)})");
            }
            if (pageSize != HostFacts.PageSizeBytes)
            {
                throw new ProbeAbortedException($"the scratch child reports {pageSize}-byte pages, the daemon {HostFacts.PageSizeBytes}");
            }
            return new ScratchChildProcess(process, pid, arenaBase, pageSize);
        }
        catch
        {
            Reap(process);
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Reap(_process);
        }
    }

    private static void Reap(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It has already exited; waiting below still reaps it.
        }
        process.WaitForExit();
        process.Dispose();
    }

    private static string ErrorOutput(Process process)
    {
        if (!process.WaitForExit(TimeSpan.FromSeconds(1)))
        {
            return "";
        }
        var text = process.StandardError.ReadToEnd().Trim();
        return text.Length == 0 ? $", exit code {process.ExitCode}" : $", exit code {process.ExitCode}: {text}";
    }
}
