using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;

namespace Pvmd.Tests.Security;

/// <summary>The audit log: one JSON line per write and per denial, appended, never truncated,
/// across restarts.</summary>
public sealed class AuditTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("pvmd-audit-");

    private string AuditLog => Path.Combine(_directory.FullName, "audit.jsonl");

    public void Dispose() => _directory.Delete(recursive: true);

    private List<JsonElement> Records() =>
        [.. File.ReadAllLines(AuditLog).Select(l => JsonDocument.Parse(l).RootElement)];

    [Fact]
    public async Task EveryWriteAndDenial_IsOneRecord_AndRestartsAppend()
    {
        using var target = TargetProcess.Start();
        var data = "pvmd audit test!"u8.ToArray();
        await using (var daemon = await DaemonFixture.StartAsync(["--audit-log", AuditLog]))
        {
            await daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.Scratch.Start, Data = ByteString.CopyFrom(data) });
            await daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.ReadOnly.Start, Data = ByteString.CopyFrom(data), Force = true });
            await Assert.ThrowsAsync<RpcException>(() => daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = new Target { Pid = 1 }, Address = 0, Data = ByteString.CopyFrom(data) }).ResponseAsync);
            // Reads are not audited.
            await ReadOutcome.ReadAsync(daemon.Client, new ReadRemoteRequest { Target = target.Target, Ranges = { new V1.Range { Address = target.Scratch.Start, Length = 16 } } });
            daemon.Signal(Signal.Terminate);
            Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }
        var firstRun = File.ReadAllBytes(AuditLog);
        var records = Records();

        Assert.Equal(3, records.Count);
        var write = records[0];
        Assert.Equal("write", write.GetProperty("event").GetString());
        Assert.Equal("write", write.GetProperty("operation").GetString());
        Assert.Equal("/pvmd.v1.RemoteMemory/WriteRemote", write.GetProperty("method").GetString());
        Assert.Equal("unix", write.GetProperty("caller").GetProperty("transport").GetString());
        Assert.Equal(0u, write.GetProperty("caller").GetProperty("uid").GetUInt32());
        Assert.Equal(Environment.ProcessId, write.GetProperty("caller").GetProperty("pid").GetInt32());
        Assert.Equal(target.Pid, write.GetProperty("target").GetProperty("pid").GetInt32());
        Assert.Equal(target.StartTime, write.GetProperty("target").GetProperty("start_time").GetUInt64());
        Assert.EndsWith("/pvmd-test-target", write.GetProperty("target").GetProperty("exe").GetString());
        Assert.Equal(target.Scratch.Start, write.GetProperty("address").GetUInt64());
        Assert.Equal(data.Length, write.GetProperty("length").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), write.GetProperty("sha256").GetString());
        Assert.Equal("OK", write.GetProperty("result").GetProperty("status").GetString());
        Assert.Equal((ulong)data.Length, write.GetProperty("result").GetProperty("bytes_written").GetUInt64());
        Assert.True(DateTimeOffset.Parse(write.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(-5));

        Assert.Equal("force-write", records[1].GetProperty("operation").GetString());
        var denial = records[2];
        Assert.Equal("denied", denial.GetProperty("event").GetString());
        Assert.Equal(1, denial.GetProperty("target").GetProperty("pid").GetInt32());
        Assert.Equal("PERMISSION_DENIED", denial.GetProperty("result").GetProperty("status").GetString());
        Assert.Equal("protected-target", denial.GetProperty("result").GetProperty("rule").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AuditLog));

        await using (var daemon = await DaemonFixture.StartAsync(["--audit-log", AuditLog]))
        {
            await daemon.Client.WriteRemoteAsync(new WriteRemoteRequest { Target = target.Target, Address = target.Scratch.Start, Data = ByteString.CopyFrom(data) });
        }

        var afterRestart = File.ReadAllBytes(AuditLog);
        Assert.Equal(firstRun, afterRestart.AsSpan(0, firstRun.Length).ToArray());
        Assert.Equal(4, Records().Count);
    }

    [Fact]
    public async Task SymlinkAtTheAuditPath_IsRefused()
    {
        var elsewhere = Path.Combine(_directory.FullName, "elsewhere");
        File.WriteAllText(elsewhere, "");
        File.CreateSymbolicLink(AuditLog, elsewhere);

        var (exitCode, stderr) = await DaemonFixture.RunToExitAsync(["--audit-log", AuditLog]);

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot use --audit-log", stderr);
    }
}
