using System.Runtime.InteropServices;

namespace Pvmd.Interop;

/// <summary>
/// A file descriptor passed over a Unix socket (SCM_RIGHTS), as 64-bit Linux lays it out: the
/// daemon sends the local path's shared memory this way and the client receives it. One
/// definition, compiled into the engine and into the client library.
/// </summary>
internal static unsafe class ScmRights
{
    private const int SolSocket = 1;
    private const int Rights = 1;

    /// <summary>The control message for <paramref name="fd"/>.</summary>
    public static FdControlMessage For(int fd) => new()
    {
        Length = (nuint)(sizeof(nuint) + (3 * sizeof(int))),
        Level = SolSocket,
        Type = Rights,
        Fd = fd,
    };

    /// <summary>The descriptor a received message carries, or -1.</summary>
    public static int Descriptor(in MsgHdr message, in FdControlMessage control) =>
        message.ControlLength >= (nuint)(sizeof(nuint) + (3 * sizeof(int))) && control.Level == SolSocket && control.Type == Rights ? control.Fd : -1;

    /// <summary>struct msghdr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public void* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct cmsghdr followed by room for one int (CMSG_SPACE(sizeof(int)) = 24).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FdControlMessage
    {
        public nuint Length;
        public int Level;
        public int Type;
        public int Fd;
        private readonly int _padding;
    }
}
