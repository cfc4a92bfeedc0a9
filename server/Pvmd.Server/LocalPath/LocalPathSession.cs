using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Pvmd.Core;
using Pvmd.Core.Memory;
using Pvmd.LocalPath;
using Pvmd.Server.Hosting;
using Pvmd.Server.Security;
using Pvmd.Server.Services;
using Pvmd.Server.Telemetry;
using Pvmd.V1;

namespace Pvmd.Server.LocalPath;

/// <summary>
/// One client's connection to the local socket, served on a thread of its own: the ticket,
/// the shared memory, then reads one at a time. Each read is authorized, limited, traced and
/// answered like ReadRemote (the same reader, the same policy call, the same error statuses);
/// only the bytes travel differently, written by process_vm_readv straight into the memory the
/// client maps. A batch's slot is read into again only after the client released it.
/// </summary>
internal sealed class LocalPathSession(Socket socket, LocalPathContext context) : IDisposable
{
    /// <summary>Frames from a client are small (a read request); this bounds a hostile one.</summary>
    private const int MaxRequestBytes = 16 << 20;
    private const int Slots = 2;
    /// <summary>How long a session polls for the next request before it sleeps: a front end
    /// polling many small values sends the next one at once; an idle connection costs nothing.</summary>
    private static readonly TimeSpan Spin = TimeSpan.FromMicroseconds(50);
    private readonly LocalFraming _framing = new(socket, MaxRequestBytes, Spin);
    private TargetHandle? _pinned;

    public void Run()
    {
        try
        {
            Serve();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // The client went away (or the daemon is stopping): nothing to answer.
        }
        catch (InvalidDataException e)
        {
            TrySendError(new InvalidRequestException($"local path: {e.Message}"));
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Ends the session from another thread (the daemon stopping): its socket closes,
    /// and the session's own thread, failing on it, releases the rest.</summary>
    public void Abort() => socket.Dispose();

    /// <summary>By the session's own thread: a pidfd closed under a running read could have its
    /// number reused by another file.</summary>
    public void Dispose()
    {
        socket.Dispose();
        _pinned?.Dispose();
    }

    private void Serve()
    {
        var peer = PeerCredentials.Read(socket);
        var hello = _framing.Receive(LocalRequest.Parser);
        if (peer is null || hello is not { KindCase: LocalRequest.KindOneofCase.Hello } || !context.Tickets.Redeem(hello.Hello.Span, peer))
        {
            // No identity, or a ticket this process was not given: the same answer either way.
            TrySendError(new AccessDeniedException("LOCAL_PATH_TICKET", DenialCause.Policy, "local path: the first frame must be a ticket from OpenLocalPath, issued to this process and used once within its lifetime"));
            return;
        }
        var caller = new Caller(CallerTransport.UnixSocket, peer.Uid, peer.Gid, peer.Pid);
        using var shared = SharedBuffer.Create(Slots, context.SlotBytes);
        shared.SendDescriptor(socket, LocalFraming.Encode(new LocalReply { Ready = new LocalReady { Slots = Slots, SlotBytes = (uint)context.SlotBytes } }));

        while (_framing.Receive(LocalRequest.Parser) is { } request)
        {
            switch (request.KindCase)
            {
                case LocalRequest.KindOneofCase.Read:
                    if (!Read(request, caller, shared))
                    {
                        return;
                    }
                    break;
                case LocalRequest.KindOneofCase.Release:
                    // The previous read's last releases arrive after it ended: nothing waits on them.
                    break;
                default:
                    throw new InvalidDataException($"a {request.KindCase} frame where a read was expected");
            }
        }
    }

    /// <summary>Serves one read; false when the connection is over (the client left mid-read).</summary>
    private bool Read(LocalRequest frame, Caller caller, SharedBuffer shared)
    {
        var request = frame.Read;
        using var span = context.Telemetry.StartLocalRead(frame.Traceparent, frame.Tracestate);
        IEnumerator<ReadBatch>? batches = null;
        TargetHandle? target;
        try
        {
            var ranges = ProtoMapping.ToRanges(request);
            // Validate before pinning the target: a malformed request costs nothing.
            context.Limits.ValidateRead(ranges);
            using var grant = context.Access.BeginLocalRead(request, caller, Pin);
            target = _pinned!;
            context.Telemetry.OnRpc(span, target.Pid);
            var sent = 0;
            var released = 0;
            batches = new RemoteReader(context.Limits with { ChunkBytes = shared.SlotBytes }, context.Faults)
                .Read(target, ranges, request.Verify, CancellationToken.None, length => shared.Slot(sent % Slots, length))
                .GetEnumerator();
            while (true)
            {
                // The next batch goes into the slot of the batch sent two before: wait until
                // the client is done with it.
                while (sent - released == Slots)
                {
                    var next = _framing.Receive(LocalRequest.Parser);
                    if (next is null)
                    {
                        return false;
                    }
                    if (next.KindCase != LocalRequest.KindOneofCase.Release)
                    {
                        throw new InvalidDataException($"a {next.KindCase} frame in the middle of a read");
                    }
                    released++;
                }
                if (context.Telemetry.NextBatch(batches, span, target.Pid) is not { } batch)
                {
                    return true;
                }
                _framing.Send(ToFrame(batch, sent % Slots, shared));
                sent++;
                if (batch.IsLast)
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is not (SocketException or ObjectDisposedException or IOException or InvalidDataException))
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
            TrySendError(e);
            return true;
        }
        finally
        {
            batches?.Dispose();
        }
    }

    /// <summary>The target of this read: the last read's, renewed, when it is the same process
    /// (a front end polls one process), else a new pin. The session keeps it for the next read.</summary>
    private TargetHandle Pin(int pid, ulong expectedStartTime)
    {
        if (_pinned?.TryRenew(pid, expectedStartTime) == true)
        {
            return _pinned;
        }
        _pinned?.Dispose();
        _pinned = null;
        _pinned = TargetHandle.Open(pid, expectedStartTime);
        return _pinned;
    }

    private static LocalReply ToFrame(ReadBatch batch, int slot, SharedBuffer shared)
    {
        var frame = new LocalBatch { Slot = (uint)slot, Response = new ReadRemoteResponse(), Last = batch.IsLast };
        var slotStart = shared.Slot(slot, 1).Span;
        foreach (var piece in batch.Pieces)
        {
            // The chunk's bytes stay in the slot: the frame says where.
            frame.Response.Chunks.Add(new Chunk { RangeIndex = (uint)piece.RangeIndex, Address = piece.Address });
            var offset = Unsafe.ByteOffset(ref MemoryMarshal.GetReference(slotStart), ref MemoryMarshal.GetReference(piece.Data.Span));
            frame.DataOffsets.Add((uint)offset);
            frame.DataLengths.Add((uint)piece.Data.Length);
        }
        foreach (var outcome in batch.Completed)
        {
            frame.Response.Results.Add(ProtoMapping.ToProto(outcome));
        }
        return new LocalReply { Batch = frame };
    }

    private void TrySendError(Exception exception)
    {
        try
        {
            var status = context.Errors.Describe(exception, AccessInterceptor.LocalReadMethod, cancelled: false);
            _framing.Send(new LocalReply { Error = status.ToByteString() });
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The client is gone: nobody to tell.
        }
    }
}

/// <summary>What every session shares: the daemon's limits, tickets, access control, error
/// mapping and telemetry.</summary>
internal sealed record LocalPathContext(
    TransferLimits Limits,
    FaultInjection? Faults,
    int SlotBytes,
    LocalPathTickets Tickets,
    AccessInterceptor Access,
    ErrorMappingInterceptor Errors,
    PvmdInstrumentation Telemetry);
