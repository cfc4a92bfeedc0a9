using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Pvmd.Core.Interop;
using Pvmd.Interop;

namespace Pvmd.Core.Memory;

/// <summary>
/// Memory the daemon shares with one local client: a memfd mapped here and handed to the
/// client over a Unix socket (SCM_RIGHTS), cut into slots of one read batch each. The file is
/// sealed against shrinking and growing before it is handed over, so the client cannot make
/// the daemon's mapping fault (a shrunk memfd would SIGBUS the daemon on its next read).
/// </summary>
public sealed unsafe class SharedBuffer : IDisposable
{
    private readonly int _fd;
    private readonly nint _address;
    private readonly SlotMemory[] _slots;

    private SharedBuffer(int fd, nint address, int slots, int slotBytes)
    {
        _fd = fd;
        _address = address;
        SlotBytes = slotBytes;
        _slots = new SlotMemory[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = new SlotMemory((byte*)address + ((long)i * slotBytes), slotBytes);
        }
    }

    public int Slots => _slots.Length;

    public int SlotBytes { get; }

    /// <summary>The memfd, for tests of its seals.</summary>
    internal int Descriptor => _fd;

    /// <summary>Creates and maps a sealed memfd of <paramref name="slots"/> slots.</summary>
    /// <exception cref="SystemCallException">The kernel refused a step.</exception>
    public static SharedBuffer Create(int slots, int slotBytes)
    {
        var size = (long)slots * slotBytes;
        var fd = Libc.MemfdCreate("pvmd-local-path", Libc.MfdCloexec | Libc.MfdAllowSealing);
        if (fd < 0)
        {
            throw new SystemCallException("memfd_create", Marshal.GetLastPInvokeError());
        }
        try
        {
            Check(Libc.Ftruncate(fd, size), "ftruncate");
            Check(Libc.Fcntl(fd, Libc.FAddSeals, Libc.FSealShrink | Libc.FSealGrow | Libc.FSealSeal), "fcntl(F_ADD_SEALS)");
            var address = Libc.Mmap(0, (nuint)size, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, fd, 0);
            if (address == Libc.MapFailed)
            {
                throw new SystemCallException("mmap", Marshal.GetLastPInvokeError());
            }
            return new SharedBuffer(fd, address, slots, slotBytes);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>The first <paramref name="length"/> bytes of a slot.</summary>
    public Memory<byte> Slot(int slot, int length) => _slots[slot].Memory[..length];

    /// <summary>Sends <paramref name="frame"/> on <paramref name="socket"/> with the memfd
    /// attached (SCM_RIGHTS): the receiver gets its own descriptor of the same file.</summary>
    /// <exception cref="SocketException">The send failed.</exception>
    public void SendDescriptor(Socket socket, ReadOnlySpan<byte> frame)
    {
        fixed (byte* data = frame)
        {
            var vector = new IoVec((nuint)data, (nuint)frame.Length);
            var control = ScmRights.For(_fd);
            var message = new ScmRights.MsgHdr { Iov = &vector, IovLength = 1, Control = &control, ControlLength = (nuint)sizeof(ScmRights.FdControlMessage) };
            var sent = Libc.Sendmsg(socket.Handle, &message, Libc.MsgNosignal);
            if (sent != frame.Length)
            {
                throw new SocketException(sent < 0 ? Marshal.GetLastPInvokeError() : (int)SocketError.MessageSize);
            }
        }
    }

    public void Dispose()
    {
        Libc.Munmap(_address, (nuint)((long)_slots.Length * SlotBytes));
        Libc.Close(_fd);
    }

    private static void Check(int result, string call)
    {
        if (result < 0)
        {
            throw new SystemCallException(call, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>A slot as Memory&lt;byte&gt;, for the reader and for slicing.</summary>
    private sealed class SlotMemory(byte* start, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(start, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(start + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
