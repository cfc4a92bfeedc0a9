using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

/// <summary>struct iovec: a base address and a length.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoVec
{
    public nuint Base;
    public nuint Length;

    public IoVec(nuint @base, nuint length)
    {
        Base = @base;
        Length = length;
    }
}

internal static unsafe partial class Libc
{
    /// <summary>IOV_MAX: the most iovecs one process_vm_* call takes (UIO_MAXIOV).</summary>
    internal const int IovMax = 1024;

    /// <summary>process_vm_readv(2): copy from the remote iovecs of pid into the local iovecs;
    /// returns the bytes copied (partial transfers are normal) or -1.</summary>
    [LibraryImport(Name, EntryPoint = "process_vm_readv", SetLastError = true)]
    internal static partial nint ProcessVmReadv(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    /// <summary>process_vm_writev(2): copy from the local iovecs into the remote iovecs of pid;
    /// returns the bytes copied or -1.</summary>
    [LibraryImport(Name, EntryPoint = "process_vm_writev", SetLastError = true)]
    internal static partial nint ProcessVmWritev(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);
}
