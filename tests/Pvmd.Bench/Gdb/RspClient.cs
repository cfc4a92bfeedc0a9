using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pvmd.Bench.Gdb;

/// <summary>
/// The least of the GDB Remote Serial Protocol a memory reader needs: packets
/// <c>$payload#cc</c> (cc = the payload's bytes summed modulo 256, two hex digits), '+'
/// acknowledgements until <c>QStartNoAckMode</c> turns them off, <c>qSupported</c> for the
/// largest packet the stub accepts, <c>m addr,length</c> answered with the bytes in hex (or
/// <c>Enn</c>), run-length encoded replies (<c>X*n</c>: X repeated n - 29 more times), and
/// <c>?</c> (the stop reason) before anything else, and <c>D</c> to detach. Synchronous: one request in flight, as the protocol has it.
/// </summary>
internal sealed class RspClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _input = new byte[256 << 10];
    private int _inputStart;
    private int _inputEnd;
    private byte[] _payload = new byte[64 << 10];
    private int _payloadLength;
    private bool _acknowledging = true;

    private RspClient(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>The stub's PacketSize (bytes of payload it accepts and answers with).</summary>
    public int PacketSize { get; private set; } = 400;

    /// <summary>The most bytes one <c>m</c> packet can return: two hex digits per byte fit
    /// in a packet.</summary>
    public int MaxReadBytes => (PacketSize - 4) / 2;

    public static async Task<RspClient> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint);
            var client = new RspClient(socket);
            client.Handshake();
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes (at most <see cref="MaxReadBytes"/>)
    /// at <paramref name="address"/> with one <c>m</c> packet.</summary>
    /// <exception cref="InvalidOperationException">The stub answered with an error or too few bytes.</exception>
    public void ReadMemory(ulong address, Span<byte> destination)
    {
        Send(string.Create(CultureInfo.InvariantCulture, $"m{address:x},{destination.Length:x}"));
        Receive();
        var reply = _payload.AsSpan(0, _payloadLength);
        if (reply.Length != destination.Length * 2)
        {
            throw new InvalidOperationException($"m {address:x},{destination.Length:x}: the stub answered '{Encoding.ASCII.GetString(reply[..Math.Min(reply.Length, 40)])}'");
        }
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)((Hex(reply[2 * i]) << 4) | Hex(reply[(2 * i) + 1]));
        }
    }

    /// <summary>Detaches from the process (it runs on) and lets gdbserver exit.</summary>
    public void Detach()
    {
        Send("D");
        Receive();
    }

    public void Dispose() => _socket.Dispose();

    private void Handshake()
    {
        Send("qSupported");
        Receive();
        var features = Encoding.ASCII.GetString(_payload, 0, _payloadLength).Split(';');
        foreach (var feature in features)
        {
            if (feature.StartsWith("PacketSize=", StringComparison.Ordinal))
            {
                PacketSize = int.Parse(feature.AsSpan("PacketSize=".Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            }
        }
        if (features.Contains("QStartNoAckMode+"))
        {
            Send("QStartNoAckMode");
            Receive();
            if (Encoding.ASCII.GetString(_payload, 0, _payloadLength) == "OK")
            {
                _acknowledging = false;
            }
        }
        // As GDB does after connecting: ask why the process stopped, which also makes the
        // stub settle on a current thread (without it gdbserver answers memory reads with E01).
        Send("?");
        Receive();
    }

    private void Send(string payload)
    {
        var checksum = 0;
        foreach (var c in payload)
        {
            checksum += c;
        }
        var packet = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"${payload}#{checksum & 0xff:x2}"));
        _socket.Send(packet);
        if (_acknowledging)
        {
            // The stub acknowledges with '+' (or asks again with '-', which a loopback never needs).
            var ack = ReadByte();
            if (ack != '+')
            {
                throw new InvalidOperationException($"gdbserver did not acknowledge '{payload}' (got '{(char)ack}')");
            }
        }
    }

    /// <summary>Reads one packet into <see cref="_payload"/>, run-length decoded.</summary>
    private void Receive()
    {
        int b;
        while ((b = ReadByte()) != '$')
        {
            // Stray acknowledgements before the packet.
        }
        _payloadLength = 0;
        var sum = 0;
        while ((b = ReadByte()) != '#')
        {
            sum += b;
            if (b == '*' && _payloadLength > 0)
            {
                var count = ReadByte();
                sum += count;
                var repeat = _payload[_payloadLength - 1];
                for (var i = 0; i < count - 29; i++)
                {
                    Append((byte)repeat);
                }
                continue;
            }
            Append((byte)b);
        }
        var expected = (Hex(ReadByte()) << 4) | Hex(ReadByte());
        if ((sum & 0xff) != expected)
        {
            throw new InvalidOperationException($"gdbserver sent a packet with a bad checksum ({expected:x2}, computed {sum & 0xff:x2})");
        }
        if (_acknowledging)
        {
            _socket.Send("+"u8);
        }
    }

    private void Append(byte value)
    {
        if (_payloadLength == _payload.Length)
        {
            Array.Resize(ref _payload, _payload.Length * 2);
        }
        _payload[_payloadLength++] = value;
    }

    private int ReadByte()
    {
        if (_inputStart == _inputEnd)
        {
            _inputStart = 0;
            _inputEnd = _socket.Receive(_input);
            if (_inputEnd == 0)
            {
                throw new InvalidOperationException("gdbserver closed the connection");
            }
        }
        return _input[_inputStart++];
    }

    private static int Hex(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => throw new InvalidOperationException($"'{(char)c}' is not a hex digit"),
    };
}
