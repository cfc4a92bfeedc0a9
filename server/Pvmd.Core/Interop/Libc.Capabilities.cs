using System.Runtime.InteropServices;

namespace Pvmd.Core.Interop;

/// <summary>struct __user_cap_header_struct: the ABI version and the thread (0 = the caller).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CapHeader
{
    public uint Version;
    public int Pid;
}

/// <summary>struct __user_cap_data_struct: one 32-bit word of each set (two of them for version 3).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CapData
{
    public uint Effective;
    public uint Permitted;
    public uint Inheritable;
}

internal static unsafe partial class Libc
{
    /// <summary>_LINUX_CAPABILITY_VERSION_3: 64-bit sets as two CapData words.</summary>
    internal const uint CapabilityVersion3 = 0x20080522;

    internal const int PrGetDumpable = 3;
    internal const int PrSetDumpable = 4;
    internal const int PrCapbsetDrop = 24;
    internal const int PrSetNoNewPrivs = 38;
    internal const int PrCapAmbient = 47;
    internal const int PrCapAmbientRaise = 2;
    internal const int PrCapAmbientClearAll = 4;

    /// <summary>capget(2): the calling thread's effective, permitted and inheritable sets; 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "capget", SetLastError = true)]
    internal static partial int Capget(CapHeader* header, CapData* data);

    /// <summary>capset(2): sets the calling thread's capability sets (only the calling thread:
    /// other threads keep theirs); 0 or -1.</summary>
    [LibraryImport(Name, EntryPoint = "capset", SetLastError = true)]
    internal static partial int Capset(CapHeader* header, CapData* data);

    /// <summary>prctl(2): per-thread process attributes (bounding set drops, ambient set,
    /// no_new_privs, dumpable); the result depends on the option, -1 on error.</summary>
    [LibraryImport(Name, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
