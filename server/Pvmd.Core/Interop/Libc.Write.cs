using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int OWronly = 0x1;
    internal const int OCreat = 0x40;
    internal const int OAppend = 0x400;

    /// <summary>O_NOFOLLOW differs by architecture: arm and powerpc use 0100000, the others 0400000.</summary>
    internal static readonly int ONofollow = RuntimeInformation.ProcessArchitecture
        is Architecture.Arm or Architecture.Arm64 or Architecture.Ppc64le ? 0x8000 : 0x20000;

    /// <summary>open(2) with O_CREAT and a mode for the new file: a file descriptor, or -1.</summary>
    [LibraryImport(Name, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int OpenCreate(string path, int flags, uint mode);

    /// <summary>write(2): bytes written (on an O_APPEND descriptor, at the end of the file,
    /// atomically with respect to other appenders), or -1.</summary>
    [LibraryImport(Name, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, byte* buffer, nuint count);
}
