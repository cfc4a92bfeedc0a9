using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static partial class Libc
{
    /// <summary>pidfd_open(2): a file descriptor that refers to one process for its whole
    /// life, even after its pid is reused; -1 on error (ESRCH when there is no such process).</summary>
    [LibraryImport(Name, EntryPoint = "pidfd_open", SetLastError = true)]
    internal static partial int PidfdOpen(int pid, uint flags);

    /// <summary>pidfd_send_signal(2): with signal 0 it only asks whether the process still
    /// runs (ESRCH once it has exited, even if the pid now names another process).</summary>
    [LibraryImport(Name, EntryPoint = "pidfd_send_signal", SetLastError = true)]
    internal static partial int PidfdSendSignal(int pidfd, int signal, nint info, uint flags);

    /// <summary>close(2).</summary>
    [LibraryImport(Name, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);
}
