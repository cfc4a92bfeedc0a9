using System.Runtime.InteropServices;

namespace Pvmd.TestTarget;

/// <summary>The libc calls the target makes to lay out its memory.</summary>
internal static partial class Native
{
    public const int ProtNone = 0x0;
    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int ProtExec = 0x4;
    public const int MapPrivate = 0x02;
    public const int MapAnonymous = 0x20;
    public static readonly nint MapFailed = -1;

    /// <summary>mmap(2): map pages; with a non-zero address the kernel takes it as a hint.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    /// <summary>munmap(2): remove a mapping; 0 or -1.</summary>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    /// <summary>mprotect(2): change the protection of whole pages; 0 or -1.</summary>
    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint address, nuint length, int protection);
}
