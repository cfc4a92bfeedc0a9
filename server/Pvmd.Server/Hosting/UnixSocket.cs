using System.Net.Sockets;

namespace Pvmd.Server.Hosting;

/// <summary>Prepares the socket path before Kestrel binds it, and sets its mode after.</summary>
public static class UnixSocket
{
    /// <summary>Creates the socket's directory and removes a stale socket: one that is left
    /// from a daemon that died, which nothing answers on. A live daemon's socket is kept,
    /// and starting fails with a clear message instead.</summary>
    /// <returns>Whether a stale socket was removed.</returns>
    public static bool Prepare(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        var info = new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
        {
            return false;
        }
        if ((File.GetAttributes(path) & FileAttributes.Directory) != 0)
        {
            throw new InvalidOperationException($"{path} is a directory, not a socket");
        }
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new InvalidOperationException($"another daemon is already listening on {path}");
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.InvalidArgument)
            {
                // Nothing listens: the file is left over.
            }
        }
        File.Delete(path);
        return true;
    }
}
