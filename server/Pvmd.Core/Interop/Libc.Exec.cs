using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    /// <summary>execve(2): replaces the process image (every thread) with the program at path;
    /// argv and envp are NULL-terminated arrays of NUL-terminated strings. Returns only on error (-1).</summary>
    [LibraryImport(Name, EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Execve(string path, nint* argv, nint* envp);
}
