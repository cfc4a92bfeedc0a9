using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Rpc;

namespace Pvmd.Tests.Infrastructure;

/// <summary>What the daemon answered to a raw gRPC request: the gRPC status (from the trailers,
/// or the headers of a trailers-only answer), its ErrorInfo, and the HTTP status.</summary>
public sealed record RawGrpcAnswer(HttpStatusCode HttpStatus, int? GrpcStatus, string? Message, ErrorInfo? Error, int BodyBytes);

/// <summary>
/// gRPC requests written by hand as HTTP/2 frames over the Unix socket: for what no generated
/// client sends (a truncated protobuf, a length prefix that lies, a message above the daemon's
/// limit, a compressed flag without compression, a wrong content type).
/// </summary>
public sealed class RawGrpc(string socketPath) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>A length-prefixed message: flag byte, 4-byte big-endian length, payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, uint? declaredLength = null, byte compressed = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressed;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public async Task<RawGrpcAnswer> CallAsync(string method, byte[] body, string contentType = "application/grpc", CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://localhost{method}")
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First()
            : null;
        var status = Header("grpc-status") is { } text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;
        ErrorInfo? info = null;
        if (Header("grpc-status-details-bin") is { } details)
        {
            var padded = details.PadRight(details.Length + ((4 - (details.Length % 4)) % 4), '=');
            var rpcStatus = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(padded));
            info = rpcStatus.Details.Select(d => d.TryUnpack<ErrorInfo>(out var e) ? e : null).FirstOrDefault(e => e is not null);
        }
        return new RawGrpcAnswer(response.StatusCode, status, Header("grpc-message"), info, bytes.Length);
    }

    public void Dispose() => _http.Dispose();
}
