namespace Pvmd.Core.Interop;

/// <summary>The errno values the engine tells apart, and their names for error reports.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EIO = 5;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EINVAL = 22;
    public const int ENOSYS = 38;

    /// <summary>The symbolic name ("EFAULT") of an errno value.</summary>
    public static string Name(int errno) => errno switch
    {
        0 => "",
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EIO => "EIO",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EINVAL => "EINVAL",
        ENOSYS => "ENOSYS",
        _ => $"E{errno}",
    };
}
