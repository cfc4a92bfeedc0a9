using Microsoft.Extensions.Options;
using Pvmd.Core.Memory;

namespace Pvmd.Server.Hosting;

/// <summary>The daemon's options: bound from appsettings.json, the environment (PVMD_SOCKET or
/// Pvmd__Socket) and the command line (--socket), validated at start.</summary>
public sealed class PvmdOptions
{
    public const string Section = "Pvmd";

    /// <summary>The Unix socket to listen on; empty disables it.</summary>
    public string Socket { get; set; } = "/run/pvmd/pvmd.sock";

    /// <summary>Mode of the socket file, in octal: who may connect.</summary>
    public string SocketMode { get; set; } = "0660";

    /// <summary>Optional TCP endpoint, HOST:PORT.</summary>
    public string? Listen { get; set; }

    /// <summary>Most ranges in one read.</summary>
    public int MaxRangesPerRequest { get; set; } = 100_000;

    /// <summary>Most bytes one request may read.</summary>
    public long MaxBytesPerRequest { get; set; } = 1L << 30;

    /// <summary>Most bytes one write may carry (also bounds the incoming message size).</summary>
    public int MaxWriteBytes { get; set; } = 16 << 20;

    /// <summary>Bytes per syscall batch and per streamed message: the bound on memory per read.</summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>Offer the node-local path (shared memory over a second Unix socket next to
    /// <see cref="Socket"/>, docs/local-path.md) to callers on the Unix socket.</summary>
    public bool LocalPath { get; set; } = true;

    /// <summary>Bytes per slot of a local-path connection's shared memory (two slots each):
    /// the most one syscall batch of the local path reads.</summary>
    public int LocalPathSlotBytes { get; set; } = 8 << 20;

    /// <summary>Where traces, metrics and logs go (Pvmd:Telemetry).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Deliberate, labelled mismatches for seeing the reporting work (Pvmd:FaultInjection); off by default.</summary>
    public FaultInjectionOptions FaultInjection { get; set; } = new();

    public TransferLimits Limits => new(MaxRangesPerRequest, (ulong)MaxBytesPerRequest, ChunkBytes, MaxWriteBytes);

    /// <summary>The socket mode as a file mode.</summary>
    public UnixFileMode ParsedSocketMode => (UnixFileMode)Convert.ToInt32(SocketMode, 8);
}

/// <summary>Checks every option at start, so a bad value stops the daemon with one clear line.</summary>
public sealed class PvmdOptionsValidator : IValidateOptions<PvmdOptions>
{
    /// <summary>The local path's socket is the daemon's socket path with this suffix.</summary>
    public const string LocalPathSuffix = ".local";

    public ValidateOptionsResult Validate(string? name, PvmdOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Socket) && string.IsNullOrWhiteSpace(options.Listen))
        {
            failures.Add("nothing to listen on: set --socket PATH or --listen HOST:PORT");
        }
        if (!string.IsNullOrEmpty(options.Socket) && !Path.IsPathFullyQualified(options.Socket))
        {
            failures.Add($"--socket must be an absolute path, not '{options.Socket}'");
        }
        if (!string.IsNullOrEmpty(options.Socket) && System.Text.Encoding.UTF8.GetByteCount(options.Socket) > 107)
        {
            failures.Add($"--socket path is longer than the 107 bytes a Unix socket address holds");
        }
        if (options.SocketMode.Length is < 3 or > 4 || options.SocketMode.Any(c => c is < '0' or > '7'))
        {
            failures.Add($"--socket-mode must be an octal mode such as 0660, not '{options.SocketMode}'");
        }
        if (!string.IsNullOrEmpty(options.Listen) && !TryParseEndpoint(options.Listen, out _, out _))
        {
            failures.Add($"--listen must be HOST:PORT with a port in 1..65535, not '{options.Listen}'");
        }
        if (options.MaxRangesPerRequest < 1)
        {
            failures.Add("--max-ranges must be at least 1");
        }
        if (options.MaxBytesPerRequest < 1)
        {
            failures.Add("--max-bytes must be at least 1");
        }
        if (options.ChunkBytes is < 4096 or > 64 << 20)
        {
            failures.Add("--chunk-bytes must be between 4096 and 67108864");
        }
        if (options.LocalPath && !string.IsNullOrEmpty(options.Socket) && System.Text.Encoding.UTF8.GetByteCount(options.Socket + LocalPathSuffix) > 107)
        {
            failures.Add($"--socket path is too long for the local path's socket next to it ({options.Socket}{LocalPathSuffix}, over 107 bytes): shorten it or set --local-path false");
        }
        if (options.LocalPathSlotBytes is < 4096 or > 64 << 20)
        {
            failures.Add("--local-path-slot-bytes must be between 4096 and 67108864");
        }
        if (options.MaxWriteBytes is < 1 or > 256 << 20)
        {
            failures.Add("--max-write-bytes must be between 1 and 268435456");
        }
        options.Telemetry.Validate(failures);
        options.FaultInjection.Validate(failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Splits HOST:PORT ([v6]:PORT too).</summary>
    public static bool TryParseEndpoint(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out port) || port is < 1 or > 65535)
        {
            return false;
        }
        host = text[..colon].Trim('[', ']');
        return host.Length > 0;
    }
}
