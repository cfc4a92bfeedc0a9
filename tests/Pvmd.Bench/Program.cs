using System.Globalization;
using Pvmd.Bench.Baseline;
using Pvmd.Bench.Scenarios;
using Pvmd.Bench.Tracing;

// pvmd-bench: every path that moves remote memory, measured in one run, one table.
//
//   pvmd-bench [--quick]     the scenarios (full by default; --quick for CI: small sizes,
//                            every byte checked, exit 1 on any failure or wrong byte)
//   pvmd-bench tracing ...   the cost of tracing on a 64-byte read (tracing-cost.sh)
//   pvmd-bench micro         the engine's hot paths with BenchmarkDotNet (time, allocations)
//   pvmd-bench baseline-server SOCKET   the do-nothing gRPC server (started by the scenarios)
//   pvmd-bench echo-server SOCKET sleep|poll   the other end of the socket round trip (ditto)
//
// Needs root (or CAP_SYS_PTRACE): it reads another process's memory itself.
// Exit codes: 0 all paths worked, 1 a path failed or returned wrong bytes, 2 bad arguments.
switch (args)
{
    case [BaselineServer.Mode, ..]:
        return await BaselineServer.RunAsync(args[1..]);
    case [SocketFloor.Mode, ..]:
        return SocketFloor.RunServer(args[1..]);
    case ["micro"]:
        return Pvmd.Bench.Micro.EngineBenchmarks.Run();
    case ["tracing", ..]:
        return await TracingCost.RunAsync(args[1..]);
    case [] or ["--quick"] or ["--full"]:
        break;
    default:
        Console.Error.WriteLine("usage: pvmd-bench [--quick] | micro");
        Console.Error.WriteLine("       " + TracingCost.Usage);
        return 2;
}

var settings = args is ["--quick"] ? BenchSettings.QuickCheck : BenchSettings.Full;
var started = DateTimeOffset.UtcNow;
var clock = System.Diagnostics.Stopwatch.StartNew();
void Progress(string what) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pvmd-bench [{clock.Elapsed.TotalSeconds,6:0.0} s] {what}"));

var table = await new ScenarioRunner(settings, Progress).RunAsync();

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"pvmd-bench {(settings.Quick ? "--quick" : "(full)")}, {started:yyyy-MM-dd HH:mm} UTC, {HostFact.CpuModel} ({Environment.ProcessorCount} cores), kernel {HostFact.Kernel}, load average {HostFact.LoadAverage}, {clock.Elapsed.TotalSeconds:0} s"));
Console.WriteLine();
Console.Write(table.ToMarkdown());
Console.WriteLine();
Console.WriteLine("""
    MB = 10^6 bytes. Relative columns: speed against that reference of the same run (rate ÷ its
    rate, or its median ÷ this median): 1.00 = as fast, 1/20 = twenty times slower, 20x = twenty
    times faster.
    The do-nothing gRPC server is Grpc.AspNetCore on a Unix socket with the daemon's Kestrel and
    HTTP/2 settings (16 MiB connection window, 8 MiB stream window, 1 MiB frames), serving the
    same contract: ReadRemote streams pre-built 1 MiB chunks of a static array; the 64 B row is a
    64-byte ReadRemote answered with one message (the same call shape as pvmd's 64 B read).
    gRPC rows go through Pvmd.Client over the Unix socket, one call at a time.
    """);
if (settings.Quick)
{
    Console.WriteLine("Quick mode: small sizes, every byte checked while timed; the figures only show that each path works.");
}
if (table.HasFailures)
{
    Console.Error.WriteLine("pvmd-bench: a path failed or returned wrong bytes (FAILED rows)");
    return 1;
}
return 0;

/// <summary>Facts about the machine for the table's heading.</summary>
internal static class HostFact
{
    public static string CpuModel =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    public static string Kernel => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    public static string LoadAverage => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);
}
