using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Pvmd.Core.Host;

namespace Pvmd.Server.Security;

/// <summary>One audit record: a change to a target (write, force-write, probe of a target) or a
/// denial. Fields that do not apply are null and left out of the JSON.</summary>
public sealed record AuditEntry(
    string Event,
    string Operation,
    string Method,
    Caller Caller,
    int? TargetPid = null,
    ulong? TargetStartTime = null,
    string? TargetExe = null,
    string? TargetComm = null,
    ulong? Address = null,
    long? Length = null,
    string? Sha256 = null,
    string Status = "OK",
    ulong? BytesWritten = null,
    ulong? StopAddress = null,
    string? StopReason = null,
    string? Rule = null,
    string? Detail = null);

/// <summary>
/// The audit log: JSON lines appended to a file opened with O_APPEND (never truncated, so it
/// survives restarts), one write(2) per record (nothing is held in the daemon's buffers).
/// SIGHUP reopens it, for log rotation. A record that cannot be written is reported in the
/// daemon's log; it does not fail the call it describes, which has already happened.
/// </summary>
public sealed class AuditLog : IDisposable
{
    private static readonly UnixFileMode s_fileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly ILogger _logger;
    private AppendOnlyFile? _file;

    public AuditLog(string? path, ILogger<AuditLog> logger)
    {
        _logger = logger;
        Path = string.IsNullOrEmpty(path) ? null : path;
        if (Path is not null)
        {
            _file = OpenFile(Path);
        }
    }

    /// <summary>The file, or null when auditing is off.</summary>
    public string? Path { get; }

    /// <summary>Opens the file (and its directory, mode 0700), to check at start that it can be
    /// written. Throws <see cref="IOException"/> with the reason.</summary>
    public static AppendOnlyFile OpenFile(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return AppendOnlyFile.Open(path, s_fileMode);
    }

    /// <summary>Closes and reopens the file at the same path (after logrotate moved it).</summary>
    public void Reopen()
    {
        if (Path is null)
        {
            return;
        }
        try
        {
            var fresh = OpenFile(Path);
            Interlocked.Exchange(ref _file, fresh)?.Dispose();
        }
        catch (IOException e)
        {
            SecurityLog.AuditFailed(_logger, e, Path);
        }
    }

    public void Record(AuditEntry entry)
    {
        var file = _file;
        if (file is null)
        {
            return;
        }
        try
        {
            file.Append(Serialize(entry, DateTimeOffset.UtcNow));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            SecurityLog.AuditFailed(_logger, e, Path!);
        }
    }

    /// <summary>The record as one line of JSON, newline included.</summary>
    public static byte[] Serialize(AuditEntry entry, DateTimeOffset time)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture));
            json.WriteString("event", entry.Event);
            json.WriteString("operation", entry.Operation);
            json.WriteString("method", entry.Method);
            json.WriteStartObject("caller");
            json.WriteString("transport", entry.Caller.TransportName);
            WriteIf(json, "uid", entry.Caller.Uid);
            WriteIf(json, "gid", entry.Caller.Gid);
            if (entry.Caller.Pid is { } pid)
            {
                json.WriteNumber("pid", pid);
            }
            if (entry.Caller.Subject is { } subject)
            {
                json.WriteString("subject", subject);
            }
            if (entry.Caller.Remote is { } remote)
            {
                json.WriteString("remote", remote);
            }
            json.WriteEndObject();
            if (entry.TargetPid is { } targetPid)
            {
                json.WriteStartObject("target");
                json.WriteNumber("pid", targetPid);
                if (entry.TargetStartTime is { } start)
                {
                    json.WriteNumber("start_time", start);
                }
                if (entry.TargetExe is { } exe)
                {
                    json.WriteString("exe", exe);
                }
                if (entry.TargetComm is { } comm)
                {
                    json.WriteString("comm", comm);
                }
                json.WriteEndObject();
            }
            WriteIf(json, "address", entry.Address);
            if (entry.Length is { } length)
            {
                json.WriteNumber("length", length);
            }
            if (entry.Sha256 is { } sha)
            {
                json.WriteString("sha256", sha);
            }
            json.WriteStartObject("result");
            json.WriteString("status", entry.Status);
            WriteIf(json, "bytes_written", entry.BytesWritten);
            WriteIf(json, "stop_address", entry.StopAddress);
            if (entry.StopReason is { } reason)
            {
                json.WriteString("stop_reason", reason);
            }
            if (entry.Rule is { } rule)
            {
                json.WriteString("rule", rule);
            }
            if (entry.Detail is { } detail)
            {
                json.WriteString("detail", detail);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        var line = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(line);
        line[^1] = (byte)'\n';
        return line;
    }

    private static void WriteIf(Utf8JsonWriter json, string name, ulong? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    private static void WriteIf(Utf8JsonWriter json, string name, uint? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _file, null)?.Dispose();
}
