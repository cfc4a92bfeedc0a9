using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

internal static unsafe partial class Libc
{
    internal const int ScPageSize = 30;
    internal const int ScClkTck = 2;
    internal const ulong AtHwcap = 16;
    internal const ulong AtHwcap2 = 26;

    /// <summary>sysconf(3): a system limit (page size, clock ticks per second).</summary>
    [LibraryImport(Name, EntryPoint = "sysconf", SetLastError = true)]
    internal static partial nint Sysconf(int name);

    /// <summary>getauxval(3): a value from the ELF auxiliary vector (0 when absent).</summary>
    [LibraryImport(Name, EntryPoint = "getauxval")]
    internal static partial nuint Getauxval(nuint type);

    /// <summary>uname(2): fills struct utsname (six 65-byte fields on Linux).</summary>
    [LibraryImport(Name, EntryPoint = "uname", SetLastError = true)]
    internal static partial int Uname(byte* buffer);

    /// <summary>getuid(2).</summary>
    [LibraryImport(Name, EntryPoint = "geteuid")]
    internal static partial uint Geteuid();

    /// <summary>getpid(2).</summary>
    [LibraryImport(Name, EntryPoint = "getpid")]
    internal static partial int Getpid();
}
