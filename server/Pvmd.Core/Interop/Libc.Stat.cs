using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int AtFdcwd = -100;
    internal const uint StatxUid = 0x0008;
    internal const uint StatxGid = 0x0010;

    /// <summary>Bytes of struct statx, whose layout is the same on every architecture.</summary>
    internal const int StatxSize = 256;

    /// <summary>Offsets of stx_uid and stx_gid in struct statx.</summary>
    internal const int StatxUidOffset = 20;
    internal const int StatxGidOffset = 24;

    /// <summary>statx(2): file status into a 256-byte struct statx; 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
