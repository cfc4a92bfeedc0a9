using System.Runtime.InteropServices;

namespace Pvmd.Bench.Interop;

/// <summary>struct iovec: a base address and a length.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoVec
{
    public nuint Base;
    public nuint Length;
}

/// <summary>The one syscall the bench makes itself: the in-process reference every other path
/// is compared with. The daemon's engine has its own binding; this one stays independent of it.</summary>
internal static unsafe partial class Libc
{
    /// <summary>process_vm_readv(2): copy from the remote iovecs of pid into the local iovecs;
    /// returns the bytes copied (partial transfers are normal) or -1.</summary>
    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    internal static partial nint ProcessVmReadv(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    internal static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="address"/>
    /// of <paramref name="pid"/> with one call; the count the kernel returned.</summary>
    /// <exception cref="InvalidOperationException">The call failed (its errno in the message).</exception>
    public static int ReadRemote(int pid, ulong address, Span<byte> destination)
    {
        fixed (byte* buffer = destination)
        {
            var local = new IoVec { Base = (nuint)buffer, Length = (nuint)destination.Length };
            var remote = new IoVec { Base = (nuint)address, Length = (nuint)destination.Length };
            var count = ProcessVmReadv(pid, &local, 1, &remote, 1, 0);
            if (count < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new InvalidOperationException($"process_vm_readv of pid {pid} at 0x{address:x} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
            return (int)count;
        }
    }
}
