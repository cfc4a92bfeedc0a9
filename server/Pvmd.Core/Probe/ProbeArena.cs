using System.Runtime.InteropServices;
using Pvmd.Core.Interop;

namespace Pvmd.Core.Probe;

/// <summary>
/// The memory layout the probe uses on both sides, in pages:
/// [pad][flat x <see cref="ProbeSweep.FlatPages"/>][break area x 2][guard][tail].
/// Buffers that must be fully mapped start at page offset 64 + r of the flat area (the pad
/// page holds the 64 watched bytes before a buffer at the very start); short buffers end at
/// the break, the guard page's first byte, and the break area holds B + 64 bytes for any
/// B below the page size. The tail page keeps a munmapped guard from bordering some other
/// mapping, so only a mapping of at most one page could fill the hole.
/// </summary>
internal readonly record struct ProbeArenaLayout(int PageSize)
{
    public int StartOffset => PageSize;

    public int FlatBytes => ProbeSweep.FlatPages * PageSize;

    public int BreakAreaOffset => PageSize * (1 + ProbeSweep.FlatPages);

    public int BreakOffset => BreakAreaOffset + (2 * PageSize);

    public int TailOffset => BreakOffset + PageSize;

    public int TotalBytes => TailOffset + PageSize;
}

/// <summary>The probe's layout mapped in the calling process, guard included; the daemon
/// maps one for itself and the scratch child one for the daemon to aim at.</summary>
internal sealed unsafe class MappedArena : IDisposable
{
    private nint _base;

    private MappedArena(nint @base, ProbeArenaLayout layout, GuardKind guard)
    {
        _base = @base;
        Layout = layout;
        Guard = guard;
    }

    public ProbeArenaLayout Layout { get; }

    public GuardKind Guard { get; }

    public byte* Base => (byte*)_base;

    public byte* Break => (byte*)_base + Layout.BreakOffset;

    /// <exception cref="SystemCallException">mmap, mprotect or munmap failed.</exception>
    public static MappedArena Create(int pageSize, GuardKind guard)
    {
        var layout = new ProbeArenaLayout(pageSize);
        var address = Libc.Mmap(0, (nuint)layout.TotalBytes, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if (address == Libc.MapFailed)
        {
            throw new SystemCallException("mmap", Marshal.GetLastPInvokeError());
        }
        var arena = new MappedArena(address, layout, guard);
        try
        {
            Protect(address + layout.TailOffset, pageSize, Libc.ProtNone);
            if (guard == GuardKind.Munmap)
            {
                if (Libc.Munmap(address + layout.BreakOffset, (nuint)pageSize) != 0)
                {
                    throw new SystemCallException("munmap", Marshal.GetLastPInvokeError());
                }
            }
            else
            {
                Protect(address + layout.BreakOffset, pageSize, Libc.ProtNone);
            }
        }
        catch
        {
            arena.Dispose();
            throw;
        }
        return arena;
    }

    /// <summary>For the munmap guard: true while nothing is mapped at the break. msync fails
    /// with ENOMEM on an unmapped range, and touches nothing on an anonymous one.</summary>
    public bool GuardIsStillAHole()
    {
        if (Libc.Msync(_base + Layout.BreakOffset, (nuint)Layout.PageSize, Libc.MsAsync) == 0)
        {
            return false;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == Errno.ENOMEM ? true : throw new SystemCallException("msync", errno);
    }

    public void Dispose()
    {
        var address = Interlocked.Exchange(ref _base, 0);
        if (address == 0)
        {
            return;
        }
        if (Guard == GuardKind.Munmap)
        {
            // Around the hole, never across it: whatever another thread mapped there is not ours.
            Libc.Munmap(address, (nuint)Layout.BreakOffset);
            Libc.Munmap(address + Layout.TailOffset, (nuint)(Layout.TotalBytes - Layout.TailOffset));
        }
        else
        {
            Libc.Munmap(address, (nuint)Layout.TotalBytes);
        }
    }

    private static void Protect(nint address, int length, int protection)
    {
        if (Libc.Mprotect(address, (nuint)length, protection) != 0)
        {
            throw new SystemCallException("mprotect", Marshal.GetLastPInvokeError());
        }
    }
}
