using Google.Rpc;
using Grpc.Core;
using Pvmd.TestTarget;
using Pvmd.V1;

namespace Pvmd.Tests.Infrastructure;

/// <summary>Assertions the integration tests share.</summary>
internal static class Expect
{
    public const string ErrorDomain = "pvmd.dev";

    /// <summary>The call failed with <paramref name="code"/> and an ErrorInfo of pvmd's domain
    /// with <paramref name="reason"/> and a non-empty "detail".</summary>
    public static ErrorInfo Error(RpcException exception, StatusCode code, string reason)
    {
        Assert.NotEqual(StatusCode.Unknown, exception.StatusCode);
        Assert.True(code == exception.StatusCode, $"expected {code}, got {exception.StatusCode}: {exception.Status.Detail}");
        var status = exception.GetRpcStatus();
        Assert.True(status is not null, $"{exception.StatusCode} without a google.rpc.Status detail: {exception.Status.Detail}");
        var info = status.GetDetail<ErrorInfo>();
        Assert.True(info is not null, $"{exception.StatusCode} without google.rpc.ErrorInfo: {exception.Status.Detail}");
        Assert.Equal(ErrorDomain, info.Domain);
        Assert.Equal(reason, info.Reason);
        Assert.True(info.Metadata.TryGetValue("detail", out var detail) && detail.Length > 0, $"ErrorInfo without metadata 'detail': {info}");
        return info;
    }

    public static async Task<ErrorInfo> ErrorAsync(Func<Task> call, StatusCode code, string reason)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        return Error(exception, code, reason);
    }

    /// <summary>The chunks of a range lie inside it, in address order, do not overlap, and
    /// each holds exactly the bytes of <paramref name="region"/> (filled with <paramref name="seed"/>).</summary>
    public static void Chunks(RangeOutcome range, ulong rangeStart, ulong rangeLength, TargetRegion region, uint seed)
    {
        var next = rangeStart;
        var expected = Array.Empty<byte>();
        foreach (var chunk in range.Chunks)
        {
            var address = chunk.Address;
            var data = chunk.Data.Span;
            Assert.True(address >= next, $"chunk at 0x{address:x} overlaps or precedes the previous one (next free 0x{next:x})");
            Assert.True(address + (ulong)data.Length <= rangeStart + rangeLength, $"chunk 0x{address:x}+{data.Length} ends past the range");
            Assert.True(address >= region.Start && address + (ulong)data.Length <= region.End, $"chunk 0x{address:x}+{data.Length} is outside the region");
            if (expected.Length < data.Length)
            {
                expected = new byte[data.Length];
            }
            var want = expected.AsSpan(0, data.Length);
            TestPattern.Fill(want, seed, address - region.Start);
            var differs = data.CommonPrefixLength(want);
            if (differs < data.Length)
            {
                Assert.Fail($"byte at 0x{address + (ulong)differs:x} is 0x{data[differs]:x2}, expected 0x{want[differs]:x2}");
            }
            next = address + (ulong)data.Length;
        }
    }

    /// <summary>The contiguous stretches the chunks cover, merged: (start, length).</summary>
    public static List<(ulong Start, ulong Length)> Covered(RangeOutcome range)
    {
        var covered = new List<(ulong Start, ulong Length)>();
        foreach (var chunk in range.Chunks.Where(c => c.Data.Length > 0))
        {
            if (covered.Count > 0 && covered[^1].Start + covered[^1].Length == chunk.Address)
            {
                covered[^1] = (covered[^1].Start, covered[^1].Length + (ulong)chunk.Data.Length);
            }
            else
            {
                covered.Add((chunk.Address, (ulong)chunk.Data.Length));
            }
        }
        return covered;
    }
}
