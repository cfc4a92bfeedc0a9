using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int ProtNone = 0x0;
    internal const int ProtRead = 0x1;
    internal const int ProtWrite = 0x2;
    internal const int ProtExec = 0x4;
    internal const int MapPrivate = 0x02;
    internal const int MapAnonymous = 0x20;
    internal const int MapNoReserve = 0x4000;
    internal const int MsAsync = 1;
    internal static readonly nint MapFailed = -1;

    /// <summary>mmap(2): map pages; returns MAP_FAILED (-1) on error.</summary>
    [LibraryImport(Name, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    /// <summary>munmap(2): remove a mapping; 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    /// <summary>mprotect(2): change the protection of whole pages; 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "mprotect", SetLastError = true)]
    internal static partial int Mprotect(nint address, nuint length, int protection);

    /// <summary>msync(2): fails with ENOMEM when the range is not mapped, which is how the
    /// probe checks that its unmapped guard page is still a hole.</summary>
    [LibraryImport(Name, EntryPoint = "msync", SetLastError = true)]
    internal static partial int Msync(nint address, nuint length, int flags);
}
