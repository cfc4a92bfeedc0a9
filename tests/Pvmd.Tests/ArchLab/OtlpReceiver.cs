using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Pvmd.Tests.ArchLab;

/// <summary>A span as the receiver saw it: its name and the names of its events.</summary>
internal sealed record ReceivedSpan(string Name, IReadOnlyList<string> EventNames);

/// <summary>The smallest OTLP/HTTP receiver the lab test needs: it listens on 127.0.0.1 (the
/// guest reaches it as 10.0.2.2), accepts /v1/traces, /v1/metrics and /v1/logs in
/// http/protobuf, and keeps each span's name and event names. Kestrel, not HttpListener: the
/// guest's requests carry <c>Host: 10.0.2.2:PORT</c>, which HttpListener answers 404 itself
/// for a 127.0.0.1 prefix; Kestrel does not filter on the host. The protobuf is walked by field
/// number (ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2,
/// ScopeSpans.spans = 2, Span.name = 5, Span.events = 11, Event.name = 2), so no copy of the
/// OTLP contract is needed.</summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly List<ReceivedSpan> _spans = [];
    private readonly WebApplication _app;
    private int _rejected;

    private OtlpReceiver(int port)
    {
        Port = port;
        // The empty builder reads no configuration (no appsettings, no ASPNETCORE_URLS): the
        // one loopback endpoint below is all it listens on.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        _app = builder.Build();
        _app.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>Requests that were not understood (wrong path, bad protobuf): a test can show them.</summary>
    public int Rejected => Volatile.Read(ref _rejected);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver(FreePort());
        await receiver._app.StartAsync();
        return receiver;
    }

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_spans)
            {
                return [.. _spans];
            }
        }
    }

    /// <summary>Waits until a span matching the predicate has arrived, or the time is up.</summary>
    public async Task<ReceivedSpan?> WaitForSpanAsync(Func<ReceivedSpan, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Spans.FirstOrDefault(predicate) is { } span)
            {
                return span;
            }
            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ServeAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var path = context.Request.Path.Value ?? "";
        var accepted = path is "/v1/metrics" or "/v1/logs";
        if (path == "/v1/traces")
        {
            try
            {
                var spans = ParseTraces(body.ToArray());
                lock (_spans)
                {
                    _spans.AddRange(spans);
                }
                accepted = true;
            }
            catch (InvalidProtocolBufferException)
            {
                accepted = false;
            }
        }
        if (!accepted)
        {
            Interlocked.Increment(ref _rejected);
        }
        // An empty Export*ServiceResponse: full success.
        context.Response.StatusCode = accepted ? 200 : 400;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength = 0;
    }

    internal static List<ReceivedSpan> ParseTraces(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    var name = Fields(span, 5).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault() ?? "";
                    var events = Fields(span, 11)
                        .Select(e => Fields(e, 2).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault() ?? "")
                        .ToList();
                    spans.Add(new ReceivedSpan(name, events));
                }
            }
        }
        return spans;
    }

    /// <summary>The payloads of the length-delimited fields with this number; others skipped.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }
        return found;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
