using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int ORdonly = 0x0;
    internal const int ORdwr = 0x2;
    internal const int OCloexec = 0x80000;

    /// <summary>open(2): a file descriptor, or -1.</summary>
    [LibraryImport(Name, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Open(string path, int flags);

    /// <summary>pread(2) at a 64-bit offset: on /proc/PID/mem the offset is the address;
    /// returns the bytes read (short at an unreadable page) or -1.</summary>
    [LibraryImport(Name, EntryPoint = "pread64", SetLastError = true)]
    internal static partial nint Pread(int fd, byte* buffer, nuint count, long offset);

    /// <summary>pwrite(2) at a 64-bit offset: on /proc/PID/mem it writes through page
    /// protection (FOLL_FORCE), as debuggers do for breakpoints; bytes written or -1.</summary>
    [LibraryImport(Name, EntryPoint = "pwrite64", SetLastError = true)]
    internal static partial nint Pwrite(int fd, byte* buffer, nuint count, long offset);
}
