using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;

namespace Pvmd.LocalPath;

/// <summary>
/// The node-local path's framing, shared by the daemon and the client (this file is compiled
/// into both): each frame is a 4-byte little-endian length and one protobuf message
/// (proto/pvmd/v1/local_path.proto). Calls block: a local round trip is a few microseconds, and
/// a dedicated thread waiting in recv(2) is both the fastest and the simplest way to spend them.
/// Before it sleeps in recv(2), a receive polls the socket for up to <c>spin</c>: on a virtual
/// machine, waking a sleeping thread costs more than the whole of a small read (a Unix socket
/// round trip between two sleeping processes takes ~30 µs here, between two polling ones ~9 µs),
/// and the frame a caller waits for usually comes within microseconds.
/// </summary>
internal sealed partial class LocalFraming(Socket socket, int maxFrameBytes, TimeSpan spin)
{
    private const int MsgDontWait = 0x40;
    private const int EAgain = 11;
    private const int EIntr = 4;

    private const int HeaderBytes = 4;
    private byte[] _received = new byte[64 << 10];
    private int _start;
    private int _end;
    private byte[] _sending = new byte[4 << 10];

    public Socket Socket => socket;

    /// <summary>Sends one message as one frame.</summary>
    /// <exception cref="SocketException">The peer is gone.</exception>
    public void Send(IMessage message)
    {
        var size = message.CalculateSize();
        if (_sending.Length < HeaderBytes + size)
        {
            _sending = new byte[Math.Max(HeaderBytes + size, _sending.Length * 2)];
        }
        BinaryPrimitives.WriteInt32LittleEndian(_sending, size);
        message.WriteTo(_sending.AsSpan(HeaderBytes, size));
        var frame = _sending.AsSpan(0, HeaderBytes + size);
        while (frame.Length > 0)
        {
            frame = frame[socket.Send(frame)..];
        }
    }

    /// <summary>Encodes one message as a frame, for a send that carries more (a descriptor).</summary>
    public static byte[] Encode(IMessage message)
    {
        var size = message.CalculateSize();
        var frame = new byte[HeaderBytes + size];
        BinaryPrimitives.WriteInt32LittleEndian(frame, size);
        message.WriteTo(frame.AsSpan(HeaderBytes));
        return frame;
    }

    /// <summary>Takes bytes the caller received itself (with recvmsg, alongside a descriptor).</summary>
    public void Feed(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_received.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>Receives one frame; null when the peer closed the connection between frames.</summary>
    /// <exception cref="InvalidDataException">A frame is larger than allowed, cut short, or not the message.</exception>
    /// <exception cref="SocketException">The connection failed.</exception>
    public T? Receive<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        if (!Fill(HeaderBytes))
        {
            return null;
        }
        var size = BinaryPrimitives.ReadInt32LittleEndian(_received.AsSpan(_start));
        if (size < 0 || size > maxFrameBytes)
        {
            throw new InvalidDataException($"a local-path frame of {size} bytes: at most {maxFrameBytes}");
        }
        _start += HeaderBytes;
        if (!Fill(size))
        {
            throw new InvalidDataException("the connection closed in the middle of a frame");
        }
        T message;
        try
        {
            message = parser.ParseFrom(_received.AsSpan(_start, size));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"a local-path frame is not a {typeof(T).Name}: {e.Message}", e);
        }
        finally
        {
            _start += size;
        }
        return message;
    }

    /// <summary>Buffers at least <paramref name="count"/> bytes; false when the peer closed first.</summary>
    private bool Fill(int count)
    {
        while (_end - _start < count)
        {
            Reserve(count - (_end - _start));
            var read = ReceivePolling(_received.AsSpan(_end));
            if (read == 0)
            {
                return false;
            }
            _end += read;
        }
        return true;
    }

    /// <summary>Receives what is there: first by polling (recv with MSG_DONTWAIT, one syscall
    /// per look) for up to <c>spin</c>, then asleep in a blocking receive. 0 when the peer closed.</summary>
    private unsafe int ReceivePolling(Span<byte> buffer)
    {
        if (spin > TimeSpan.Zero)
        {
            // A reference on the handle: a concurrent Dispose (a cancelled read) cannot close
            // the descriptor, and so cannot hand its number to another file, under the loop.
            var handle = socket.SafeHandle;
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                var fd = handle.DangerousGetHandle();
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                fixed (byte* bytes = buffer)
                {
                    do
                    {
                        var received = Recv(fd, bytes, (nuint)buffer.Length, MsgDontWait);
                        if (received >= 0)
                        {
                            return (int)received;
                        }
                        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                        if (errno is not (EAgain or EIntr))
                        {
                            break; // the blocking receive reports it
                        }
                    }
                    while (System.Diagnostics.Stopwatch.GetElapsedTime(start) < spin);
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        return socket.Receive(buffer, SocketFlags.None);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Recv(nint socket, byte* buffer, nuint length, int flags);

    /// <summary>Room for <paramref name="more"/> bytes after what is buffered.</summary>
    private void Reserve(int more)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        if (_received.Length - _end >= more)
        {
            return;
        }
        var buffered = _end - _start;
        var target = _received.Length >= buffered + more ? _received : new byte[Math.Max(buffered + more, _received.Length * 2)];
        Buffer.BlockCopy(_received, _start, target, 0, buffered);
        _received = target;
        _start = 0;
        _end = buffered;
    }
}
