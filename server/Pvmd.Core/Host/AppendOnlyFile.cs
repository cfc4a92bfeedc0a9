using System.Runtime.InteropServices;
using Pvmd.Core.Interop;

namespace Pvmd.Core.Host;

/// <summary>
/// A file that is only ever appended to: opened with O_APPEND (every write(2) lands at the end
/// of the file, atomically with respect to other appenders, and nothing before it can be
/// overwritten through this descriptor), O_NOFOLLOW (a symlink planted at the path is refused)
/// and O_CLOEXEC. Each <see cref="Append"/> is one write(2) with no buffering in the process,
/// so a record is in the kernel before the call returns and survives a crash of the daemon.
/// </summary>
public sealed class AppendOnlyFile : IDisposable
{
    private readonly Lock _gate = new();
    private int _fd;

    private AppendOnlyFile(string path, int fd)
    {
        Path = path;
        _fd = fd;
    }

    public string Path { get; }

    /// <summary>Opens (creating with <paramref name="mode"/> when absent) for appending.</summary>
    /// <exception cref="IOException">The file cannot be opened; the message names the errno.</exception>
    public static AppendOnlyFile Open(string path, UnixFileMode mode)
    {
        var fd = Libc.OpenCreate(path, Libc.OWronly | Libc.OAppend | Libc.OCreat | Libc.OCloexec | Libc.ONofollow, (uint)mode);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {path} for appending: {Errno.Name(errno)}", errno);
        }
        return new AppendOnlyFile(path, fd);
    }

    /// <summary>Appends the bytes with write(2), retrying a short write for the rest.</summary>
    /// <exception cref="IOException">write(2) failed (disk full, I/O error).</exception>
    public unsafe void Append(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            fixed (byte* start = bytes)
            {
                var done = 0;
                while (done < bytes.Length)
                {
                    var written = Libc.Write(_fd, start + done, (nuint)(bytes.Length - done));
                    if (written < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == 4)
                        {
                            continue; // EINTR
                        }
                        throw new IOException($"cannot append to {Path}: {Errno.Name(errno)}", errno);
                    }
                    done += (int)written;
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_fd >= 0)
            {
                Libc.Close(_fd);
                _fd = -1;
            }
        }
    }
}
