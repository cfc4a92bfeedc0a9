using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int MapShared = 0x01;
    internal const uint MfdCloexec = 0x1;
    internal const uint MfdAllowSealing = 0x2;
    internal const int FAddSeals = 1033;
    internal const int FSealSeal = 0x1;
    internal const int FSealShrink = 0x2;
    internal const int FSealGrow = 0x4;
    internal const int MsgNosignal = 0x4000;

    /// <summary>memfd_create(2): an anonymous file; a file descriptor or -1.</summary>
    [LibraryImport(Name, EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int MemfdCreate(string name, uint flags);

    /// <summary>ftruncate(2): set a file's size; 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int Ftruncate(int fd, long length);

    /// <summary>fcntl(2) with an int argument (F_ADD_SEALS); -1 on error.</summary>
    [LibraryImport(Name, EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int command, int argument);

    /// <summary>sendmsg(2): bytes sent or -1.</summary>
    [LibraryImport(Name, EntryPoint = "sendmsg", SetLastError = true)]
    internal static partial nint Sendmsg(nint socket, Pvmd.Interop.ScmRights.MsgHdr* message, int flags);
}
