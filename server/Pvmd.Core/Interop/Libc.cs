namespace Pvmd.Core.Interop;

/// <summary>
/// Declarations of the libc calls the engine makes. One file per call family; every
/// declaration sets SetLastError so the errno is read with Marshal.GetLastPInvokeError
/// right after the call.
/// </summary>
internal static partial class Libc
{
    internal const string Name = "libc";
}
