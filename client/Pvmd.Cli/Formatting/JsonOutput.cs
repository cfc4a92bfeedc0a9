using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Cli.Formatting;

/// <summary>pvmctl's JSON shapes, written by hand so they stay what the help documents
/// whatever the contract's generated types do: camelCase names, every field always present
/// (null when absent), addresses as "0x..." strings (they can exceed 2^53), counts as numbers,
/// enums as the words of <see cref="Names"/>.</summary>
internal static class JsonOutput
{
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Command lines and paths are not HTML; keep them readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>One JSON value as a single line of text (no newline).</summary>
    public static string ToLine(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>{arch, kernelRelease, pageSize, cpuModel, hwcap, hwcap2, cpuFeatures,
    /// yamaPtraceScope, hasCapSysPtrace, daemonVersion, emulation, hostname}</summary>
    public static void WritePlatform(Utf8JsonWriter w, Platform? p)
    {
        if (p is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("arch", p.Arch);
        w.WriteString("kernelRelease", p.KernelRelease);
        w.WriteNumber("pageSize", p.PageSize);
        w.WriteString("cpuModel", p.CpuModel);
        w.WriteString("hwcap", Names.Hex(p.Hwcap));
        w.WriteString("hwcap2", Names.Hex(p.Hwcap2));
        w.WriteString("cpuFeatures", p.CpuFeatures);
        w.WriteNumber("yamaPtraceScope", p.YamaPtraceScope);
        w.WriteBoolean("hasCapSysPtrace", p.HasCapSysPtrace);
        w.WriteString("daemonVersion", p.DaemonVersion);
        w.WriteString("emulation", p.Emulation);
        w.WriteString("hostname", p.Hostname);
        w.WriteEndObject();
    }

    /// <summary>{pid, ppid, uid, name, cmdline, startTime, executable}</summary>
    public static void WriteProcess(Utf8JsonWriter w, ProcessInfo p)
    {
        w.WriteStartObject();
        w.WriteNumber("pid", p.Pid);
        w.WriteNumber("ppid", p.Ppid);
        w.WriteNumber("uid", p.Uid);
        w.WriteString("name", p.Name);
        w.WriteString("cmdline", p.Cmdline);
        w.WriteNumber("startTime", p.StartTime);
        w.WriteString("executable", p.Executable);
        w.WriteEndObject();
    }

    /// <summary>{start, end, size, permissions, offset, device, inode, path}</summary>
    public static void WriteRegion(Utf8JsonWriter w, Region r)
    {
        w.WriteStartObject();
        w.WriteString("start", Names.Hex(r.Start));
        w.WriteString("end", Names.Hex(r.End));
        w.WriteNumber("size", r.End - r.Start);
        w.WriteString("permissions", r.Permissions);
        w.WriteString("offset", Names.Hex(r.Offset));
        w.WriteString("device", r.Device);
        w.WriteNumber("inode", r.Inode);
        w.WriteString("path", r.Path);
        w.WriteEndObject();
    }

    /// <summary>{index, address, length, bytesRead, syscallReturned, unreadableBytes,
    /// stopAddress, stopReason, holes: [{address, length, reason}], segments: [{address, length,
    /// data (base64)}], check}; segments are the readable stretches (adjacent chunks merged).</summary>
    public static void WriteRange(Utf8JsonWriter w, RangeReadResult range)
    {
        var r = range.Result;
        w.WriteStartObject();
        w.WriteNumber("index", r.RangeIndex);
        w.WriteString("address", Names.Hex(r.Address));
        w.WriteNumber("length", r.Length);
        w.WriteNumber("bytesRead", r.BytesRead);
        w.WriteNumber("syscallReturned", r.SyscallReturned);
        w.WriteNumber("unreadableBytes", r.UnreadableBytes);
        WriteStop(w, r.HasStopAddress ? r.StopAddress : null, r.StopReason);

        w.WriteStartArray("holes");
        foreach (var hole in r.Holes)
        {
            WriteHole(w, hole);
        }

        w.WriteEndArray();

        w.WriteStartArray("segments");
        foreach (var segment in Segments(range.Chunks))
        {
            w.WriteStartObject();
            w.WriteString("address", Names.Hex(segment.Address));
            w.WriteNumber("length", segment.Length);
            w.WritePropertyName("data");
            for (var i = 0; i < segment.Chunks.Count; i++)
            {
                w.WriteBase64StringSegment(segment.Chunks[i].Data.Span, isFinalSegment: i == segment.Chunks.Count - 1);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WritePropertyName("check");
        WriteTransferCheck(w, r.Check);
        w.WriteEndObject();
    }

    /// <summary>{returned, actual, changedBeyondReturned, unwrittenBelowReturned,
    /// firstModifiedOffset, lastModifiedOffset, mismatch}, or null.</summary>
    public static void WriteTransferCheck(Utf8JsonWriter w, TransferCheck? c)
    {
        if (c is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteNumber("returned", c.Returned);
        w.WriteNumber("actual", c.Actual);
        w.WriteNumber("changedBeyondReturned", c.ChangedBeyondReturned);
        w.WriteNumber("unwrittenBelowReturned", c.UnwrittenBelowReturned);
        w.WriteNumber("firstModifiedOffset", c.FirstModifiedOffset);
        w.WriteNumber("lastModifiedOffset", c.LastModifiedOffset);
        w.WriteBoolean("mismatch", c.Mismatch);
        w.WriteEndObject();
    }

    /// <summary>{address, length, force, syscallReturned, stopAddress, stopReason, check:
    /// {bytesChanged, firstChangedOffset, firstDifferingOffset, changedBeyondReturned,
    /// changedBeyondReturnedCount, unwrittenBelowReturned, mismatch} or null}</summary>
    public static void WriteWrite(Utf8JsonWriter w, ulong address, int length, bool force, WriteRemoteResponse r)
    {
        w.WriteStartObject();
        w.WriteString("address", Names.Hex(address));
        w.WriteNumber("length", length);
        w.WriteBoolean("force", force);
        w.WriteNumber("syscallReturned", r.SyscallReturned);
        WriteStop(w, r.HasStopAddress ? r.StopAddress : null, r.StopReason);
        w.WritePropertyName("check");
        if (r.Check is { } c)
        {
            w.WriteStartObject();
            w.WriteNumber("bytesChanged", c.BytesChanged);
            w.WriteNumber("firstChangedOffset", c.FirstChangedOffset);
            w.WriteNumber("firstDifferingOffset", c.FirstDifferingOffset);
            w.WriteBoolean("changedBeyondReturned", c.ChangedBeyondReturned);
            w.WriteNumber("changedBeyondReturnedCount", c.ChangedBeyondReturnedCount);
            w.WriteNumber("unwrittenBelowReturned", c.UnwrittenBelowReturned);
            w.WriteBoolean("mismatch", c.Mismatch);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }

        w.WriteEndObject();
    }

    /// <summary>One probe case: {op, layout, layoutName, guard, shortSide, before, after,
    /// misalignment, ret, errno, runsAgree, deficit, expectedRet, firstModified, lastModified,
    /// modifiedCount, modifiedBeyondRet, modifiedBeyondRanges: [{offset, length}],
    /// overReported, modifiedBeforeBuffer, sourceChanged, class}</summary>
    public static void WriteProbeCase(Utf8JsonWriter w, ProbeCase c)
    {
        w.WriteStartObject();
        w.WriteString("op", Names.Of(c.Op));
        w.WriteString("layout", Names.Of(c.Layout));
        w.WriteString("layoutName", c.LayoutName);
        w.WriteString("guard", Names.Of(c.Guard));
        w.WriteString("shortSide", Names.Of(c.ShortSide));
        w.WriteNumber("before", c.Before);
        w.WriteNumber("after", c.After);
        w.WriteNumber("misalignment", c.Misalignment);
        w.WriteNumber("ret", c.Ret);
        w.WriteString("errno", c.ErrnoName);
        w.WriteBoolean("runsAgree", c.RunsAgree);
        w.WriteNumber("deficit", c.Deficit);
        w.WriteNumber("expectedRet", c.ExpectedRet);
        w.WriteNumber("firstModified", c.FirstModified);
        w.WriteNumber("lastModified", c.LastModified);
        w.WriteNumber("modifiedCount", c.ModifiedCount);
        w.WriteNumber("modifiedBeyondRet", c.ModifiedBeyondRet);
        w.WriteStartArray("modifiedBeyondRanges");
        foreach (var range in c.ModifiedBeyondRanges)
        {
            // In a probe record positions are offsets into the destination buffer.
            w.WriteStartObject();
            w.WriteNumber("offset", range.Address);
            w.WriteNumber("length", range.Length);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("overReported", c.OverReported);
        w.WriteNumber("modifiedBeforeBuffer", c.ModifiedBeforeBuffer);
        w.WriteBoolean("sourceChanged", c.SourceChanged);
        w.WriteString("class", Names.Of(c.Class));
        w.WriteEndObject();
    }

    /// <summary>The probe's last line: {summary: {EXACT: n, SHORT_CLEAN: n, SHORT_DIRTY: n,
    /// OVER_REPORT: n, EFAULT_CLEAN: n, EFAULT_DIRTY: n}, host: {platform}, total, elapsedSeconds,
    /// targetPid, mismatch}; every class is present, 0 when none.</summary>
    public static void WriteProbeSummary(Utf8JsonWriter w, ProbeSummary s)
    {
        w.WriteStartObject();
        w.WritePropertyName("summary");
        WriteClassCounts(w, s);
        w.WritePropertyName("host");
        WritePlatform(w, s.Host);
        w.WriteNumber("total", s.Total);
        w.WriteNumber("elapsedSeconds", s.ElapsedSeconds);
        w.WriteNumber("targetPid", s.TargetPid);
        w.WriteBoolean("mismatch", Probing.ProbeVerdict.HasMismatch(s));
        w.WriteEndObject();
    }

    /// <summary>{EXACT: n, ..., EFAULT_DIRTY: n}: every class, in table order.</summary>
    public static void WriteClassCounts(Utf8JsonWriter w, ProbeSummary s)
    {
        w.WriteStartObject();
        foreach (var cls in Names.Classes)
        {
            w.WriteNumber(Names.Of(cls), Probing.ProbeVerdict.Count(s, cls));
        }

        w.WriteEndObject();
    }

    private static void WriteHole(Utf8JsonWriter w, Hole hole)
    {
        w.WriteStartObject();
        w.WriteString("address", Names.Hex(hole.Address));
        w.WriteNumber("length", hole.Length);
        w.WriteString("reason", Names.Of(hole.Reason));
        w.WriteEndObject();
    }

    private static void WriteStop(Utf8JsonWriter w, ulong? stopAddress, StopReason reason)
    {
        if (stopAddress is { } stop)
        {
            w.WriteString("stopAddress", Names.Hex(stop));
            w.WriteString("stopReason", Names.Of(reason));
        }
        else
        {
            w.WriteNull("stopAddress");
            w.WriteNull("stopReason");
        }
    }

    private static IEnumerable<(ulong Address, ulong Length, List<Chunk> Chunks)> Segments(IReadOnlyList<Chunk> chunks)
    {
        List<Chunk>? current = null;
        ulong start = 0;
        ulong length = 0;
        foreach (var chunk in chunks.Where(c => c.Data.Length > 0))
        {
            if (current is not null && chunk.Address == start + length)
            {
                current.Add(chunk);
                length += (ulong)chunk.Data.Length;
                continue;
            }

            if (current is not null)
            {
                yield return (start, length, current);
            }

            current = [chunk];
            start = chunk.Address;
            length = (ulong)chunk.Data.Length;
        }

        if (current is not null)
        {
            yield return (start, length, current);
        }
    }
}
