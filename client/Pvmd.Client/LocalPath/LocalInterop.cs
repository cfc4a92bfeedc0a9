using System.Runtime.InteropServices;

namespace Pvmd.Client.LocalPath;

/// <summary>The few libc calls the node-local path needs on the client side: receiving the
/// daemon's memfd (recvmsg with SCM_RIGHTS) and mapping it.</summary>
internal static unsafe partial class LocalInterop
{
    private const string Libc = "libc";
    internal const int ProtRead = 0x1;
    internal const int MapShared = 0x01;
    internal const int MsgCmsgCloexec = 0x40000000;

    [LibraryImport(Libc, EntryPoint = "recvmsg", SetLastError = true)]
    internal static partial nint Recvmsg(nint socket, Pvmd.Interop.ScmRights.MsgHdr* message, int flags);

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public void* Base;
        public nuint Length;
    }
}
