using Pvmd.Core.Interop;
using Pvmd.Core.Probe;
using Pvmd.Core.Procfs;

namespace Pvmd.Tests.Probe;

public sealed unsafe class MappedArenaTests
{
    [Fact]
    public void MunmapGuard_NoticesAMappingInTheHole_AndLeavesItAlone()
    {
        var pageSize = (int)Libc.Sysconf(Libc.ScPageSize);
        var arena = MappedArena.Create(pageSize, GuardKind.Munmap);
        Assert.True(arena.GuardIsStillAHole());

        // What another thread's mmap could do: land exactly in the hole.
        const int MapFixed = 0x10;
        var intruder = Libc.Mmap((nint)arena.Break, (nuint)pageSize, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous | MapFixed, -1, 0);
        Assert.Equal((nint)arena.Break, intruder);
        try
        {
            Assert.False(arena.GuardIsStillAHole());

            arena.Dispose();

            // The arena is gone, the mapping in its hole is not: it belongs to someone else.
            *(byte*)intruder = 1;
            Assert.Equal(0, Libc.Msync(intruder, (nuint)pageSize, Libc.MsAsync));
        }
        finally
        {
            Libc.Munmap(intruder, (nuint)pageSize);
        }
    }

    [Fact]
    public void ProtNoneGuard_IsMappedButInaccessible()
    {
        var pageSize = (int)Libc.Sysconf(Libc.ScPageSize);
        using var arena = MappedArena.Create(pageSize, GuardKind.ProtNone);

        var maps = ProcMaps.Read(Environment.ProcessId);

        Assert.Equal("---p", maps.Find((ulong)arena.Break)?.Permissions);
        Assert.Equal("rw-p", maps.Find((ulong)arena.Break - 1)?.Permissions);
        Assert.Equal("---p", maps.Find((ulong)arena.Base + (ulong)arena.Layout.TailOffset)?.Permissions);
    }
}
