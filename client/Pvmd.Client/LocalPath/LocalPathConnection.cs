using System.Net.Sockets;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Pvmd.Interop;
using Pvmd.LocalPath;
using Pvmd.V1;

namespace Pvmd.Client.LocalPath;

/// <summary>
/// One connection of the node-local path: the daemon's shared memory mapped read-only here, and
/// a socket that carries one read at a time (frames of proto/pvmd/v1/local_path.proto). A batch's
/// bytes are read where the daemon's process_vm_readv put them; the connection releases the
/// batch's slot when the caller moves on to the next one.
/// </summary>
internal sealed unsafe class LocalPathConnection : IDisposable
{
    /// <summary>Replies are small (a batch's account); this bounds a broken daemon.</summary>
    private const int MaxReplyBytes = 64 << 20;

    /// <summary>How long a read polls for the daemon's answer before it sleeps: a small read is
    /// answered within this, a bulk one waits asleep.</summary>
    private static readonly TimeSpan Spin = TimeSpan.FromMicroseconds(100);
    private readonly LocalFraming _framing;
    private readonly byte* _shared;
    private readonly nuint _sharedBytes;
    private readonly int _slots;
    private readonly int _slotBytes;
    private int _disposed;
    private volatile bool _aborted;

    private LocalPathConnection(Socket socket, byte* shared, int slots, int slotBytes, LocalFraming framing)
    {
        _framing = framing;
        _shared = shared;
        _slots = slots;
        _slotBytes = slotBytes;
        _sharedBytes = (nuint)((long)slots * slotBytes);
        Socket = socket;
    }

    public Socket Socket { get; }

    /// <summary>True between a read's request and its last batch or error: a connection left in
    /// that state (the caller stopped reading) cannot take another read.</summary>
    public bool InRead { get; private set; }

    /// <summary>Whether the connection can take another read: not left mid-read, not aborted.</summary>
    public bool Reusable => !InRead && !_aborted && _disposed == 0;

    /// <summary>Connects, presents the ticket and maps the shared memory the daemon sends.</summary>
    /// <exception cref="SocketException">The socket cannot be reached.</exception>
    /// <exception cref="RpcException">The daemon refused the ticket.</exception>
    /// <exception cref="InvalidDataException">The daemon's answer is not the protocol.</exception>
    public static LocalPathConnection Open(string path, ByteString ticket)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            var framing = new LocalFraming(socket, MaxReplyBytes, Spin);
            framing.Send(new LocalRequest { Hello = ticket });
            var fd = ReceiveDescriptor(socket, framing);
            try
            {
                var reply = framing.Receive(LocalReply.Parser) ?? throw new InvalidDataException("the daemon closed the local path before it was ready");
                ThrowIfError(reply);
                if (reply.KindCase != LocalReply.KindOneofCase.Ready || reply.Ready.Slots == 0 || reply.Ready.SlotBytes == 0 || fd < 0)
                {
                    throw new InvalidDataException("the daemon answered the ticket without shared memory");
                }
                var size = (nuint)((long)reply.Ready.Slots * reply.Ready.SlotBytes);
                var address = LocalInterop.Mmap(0, size, LocalInterop.ProtRead, LocalInterop.MapShared, fd, 0);
                if (address == -1)
                {
                    throw new IOException($"cannot map the local path's shared memory: errno {Marshal.GetLastPInvokeError()}");
                }
                return new LocalPathConnection(socket, (byte*)address, (int)reply.Ready.Slots, (int)reply.Ready.SlotBytes, framing);
            }
            finally
            {
                if (fd >= 0)
                {
                    LocalInterop.Close(fd); // the mapping keeps the memory
                }
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the read and yields its batches; a batch's bytes (<see cref="Data"/>) are
    /// valid until the next one is asked for.</summary>
    /// <exception cref="RpcException">The daemon refused or failed the read (its status).</exception>
    public IEnumerable<LocalBatch> Read(ReadRemoteRequest request, System.Diagnostics.Activity? span)
    {
        InRead = true;
        var frame = new LocalRequest { Read = request };
        if (span is not null)
        {
            System.Diagnostics.DistributedContextPropagator.Current.Inject(span, frame, static (carrier, name, value) =>
            {
                if (carrier is LocalRequest request && value is not null)
                {
                    if (name == "traceparent")
                    {
                        request.Traceparent = value;
                    }
                    else if (name == "tracestate")
                    {
                        request.Tracestate = value;
                    }
                }
            });
        }

        _framing.Send(frame);
        while (true)
        {
            var reply = _framing.Receive(LocalReply.Parser) ?? throw new IOException("the daemon closed the local path in the middle of a read");
            if (reply.KindCase == LocalReply.KindOneofCase.Error)
            {
                InRead = false;
                ThrowIfError(reply);
            }
            if (reply.KindCase != LocalReply.KindOneofCase.Batch || reply.Batch.Response is null)
            {
                throw new InvalidDataException($"a {reply.KindCase} frame in the middle of a read");
            }
            var batch = reply.Batch;
            if (batch.Last)
            {
                InRead = false;
            }
            yield return batch;
            if (batch.Last)
            {
                yield break;
            }
            _framing.Send(new LocalRequest { Release = batch.Slot });
        }
    }

    /// <summary>Chunk <paramref name="index"/>'s bytes in the shared memory, checked to lie in
    /// the batch's slot.</summary>
    public ReadOnlySpan<byte> Data(LocalBatch batch, int index)
    {
        if (index >= batch.DataOffsets.Count || index >= batch.DataLengths.Count || batch.Slot >= _slots
            || (ulong)batch.DataOffsets[index] + batch.DataLengths[index] > (ulong)_slotBytes)
        {
            throw new InvalidDataException("a local-path batch names bytes outside its slot");
        }
        return new ReadOnlySpan<byte>(_shared + ((long)batch.Slot * _slotBytes) + batch.DataOffsets[index], (int)batch.DataLengths[index]);
    }

    /// <summary>Stops the connection from any thread (a cancellation): a receive waiting on the
    /// socket fails at once. The shared memory stays mapped until the owner disposes the
    /// connection, so a copy still running on the owner's thread never touches unmapped pages.</summary>
    public void Abort()
    {
        _aborted = true;
        Socket.Dispose();
    }

    /// <summary>Closes the socket and unmaps the shared memory: by the connection's owner only,
    /// once nothing reads from it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Socket.Dispose();
            LocalInterop.Munmap((nint)_shared, _sharedBytes);
        }
    }

    private static void ThrowIfError(LocalReply reply)
    {
        if (reply.KindCase == LocalReply.KindOneofCase.Error)
        {
            throw Google.Rpc.Status.Parser.ParseFrom(reply.Error).ToRpcException();
        }
    }

    /// <summary>recvmsg for the daemon's first reply: the frame's bytes go to the framing, the
    /// descriptor (SCM_RIGHTS) is returned; -1 when none came (a refusal carries none).</summary>
    private static int ReceiveDescriptor(Socket socket, LocalFraming framing)
    {
        var buffer = stackalloc byte[4096];
        var vector = new LocalInterop.IoVec { Base = buffer, Length = 4096 };
        var control = default(ScmRights.FdControlMessage);
        var message = new ScmRights.MsgHdr { Iov = &vector, IovLength = 1, Control = &control, ControlLength = (nuint)sizeof(ScmRights.FdControlMessage) };
        var received = LocalInterop.Recvmsg(socket.Handle, &message, LocalInterop.MsgCmsgCloexec);
        if (received < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        framing.Feed(new ReadOnlySpan<byte>(buffer, (int)received));
        return ScmRights.Descriptor(message, control);
    }
}
