using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using Pvmd.Tests.Infrastructure;

namespace Pvmd.Tests.Telemetry;

/// <summary>
/// The Aspire Dashboard, a real OTLP receiver with a JSON telemetry API, started as a process
/// on free 127.0.0.1 ports. The test project restores it through NuGet (a PackageReference
/// that brings no assets); its folder reaches the tests as assembly metadata.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(90);

    private readonly OutputLog _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Process? _process;
    private DirectoryInfo? _directory;

    public Uri Frontend { get; private set; } = null!;

    /// <summary>OTLP over gRPC.</summary>
    public Uri OtlpGrpc { get; private set; } = null!;

    /// <summary>OTLP over HTTP/protobuf (the signal paths are added by the exporters).</summary>
    public Uri OtlpHttp { get; private set; } = null!;

    public string Log => _log.ToString();

    /// <summary>The dashboard's executable in the restored package.</summary>
    public static string Executable
    {
        get
        {
            var directory = typeof(DashboardFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .SingleOrDefault(a => a.Key == "AspireDashboardPackage")?.Value;
            return string.IsNullOrEmpty(directory)
                ? throw new InvalidOperationException("the test project did not record the Aspire.Dashboard.Sdk.linux-x64 package's folder")
                : Path.Combine(directory, "tools", "Aspire.Dashboard");
        }
    }

    public async Task InitializeAsync()
    {
        var executable = Executable;
        // NuGet does not always restore the executable bit.
        File.SetUnixFileMode(executable, File.GetUnixFileMode(executable) | UnixFileMode.UserExecute);
        var (frontend, grpc, http) = (FreePort(), FreePort(), FreePort());
        Frontend = new Uri($"http://127.0.0.1:{frontend}");
        OtlpGrpc = new Uri($"http://127.0.0.1:{grpc}");
        OtlpHttp = new Uri($"http://127.0.0.1:{http}");
        _directory = Directory.CreateTempSubdirectory("pvmd-dashboard-");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory.FullName,
        };
        // Everything on 127.0.0.1 and unauthenticated: the API must answer the test without a key.
        start.Environment["ASPNETCORE_URLS"] = Frontend.ToString();
        start.Environment["DASHBOARD__OTLP__GRPCENDPOINTURL"] = OtlpGrpc.ToString();
        start.Environment["DASHBOARD__OTLP__HTTPENDPOINTURL"] = OtlpHttp.ToString();
        start.Environment["DASHBOARD__OTLP__AUTHMODE"] = "Unsecured";
        start.Environment["DASHBOARD__FRONTEND__AUTHMODE"] = "Unsecured";
        start.Environment["DASHBOARD__API__AUTHMODE"] = "Unsecured";
        start.Environment["DASHBOARD__API__ENABLED"] = "true";
        start.Environment["HOME"] = _directory.FullName;
        _process = Process.Start(start) ?? throw new InvalidOperationException("the dashboard did not start");
        _process.OutputDataReceived += (_, e) => _log.Append(e.Data);
        _process.ErrorDataReceived += (_, e) => _log.Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_startTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the dashboard exited with code {_process.ExitCode}:\n{Log}");
            }
            try
            {
                using var response = await _http.GetAsync(new Uri(Frontend, "/api/telemetry/traces"));
                if (response.IsSuccessStatusCode && Log.Contains("OTLP/gRPC listening", StringComparison.Ordinal) && Log.Contains("OTLP/HTTP listening", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the dashboard's API did not answer within {s_startTimeout.TotalSeconds} s:\n{Log}");
    }

    /// <summary>Every span the dashboard holds, flattened.</summary>
    public async Task<IReadOnlyList<OtlpSpan>> SpansAsync()
    {
        var json = await _http.GetStringAsync(new Uri(Frontend, "/api/telemetry/traces"));
        return OtlpSpan.Parse(json);
    }

    /// <summary>Polls the API until <paramref name="done"/> holds for the spans, within a deadline.</summary>
    public async Task<IReadOnlyList<OtlpSpan>> WaitForSpansAsync(Func<IReadOnlyList<OtlpSpan>, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<OtlpSpan> spans = [];
        while (clock.Elapsed < timeout)
        {
            spans = await SpansAsync();
            if (done(spans))
            {
                return spans;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"within {timeout.TotalSeconds} s the dashboard never held {what}; it holds:\n{string.Join('\n', spans)}");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
        _directory?.Delete(recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One span of the dashboard's OTLP JSON, with its resource's service name. The
/// dashboard gives every attribute value as a string.</summary>
public sealed record OtlpSpan(
    string Service,
    string Scope,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    int Kind,
    int StatusCode,
    string? StatusMessage,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<OtlpEvent> Events)
{
    /// <summary>OTLP span kinds.</summary>
    public const int Server = 2;
    public const int Client = 3;

    /// <summary>OTLP status code Error.</summary>
    public const int Error = 2;

    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);

    public override string ToString() =>
        $"{Service}/{Scope} {Name} trace {TraceId} span {SpanId} parent {ParentSpanId ?? "-"} status {StatusCode} events [{string.Join(", ", Events.Select(e => e.Name))}]";

    public static IReadOnlyList<OtlpSpan> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in document.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            var service = "";
            if (resourceSpans.TryGetProperty("resource", out var resource))
            {
                service = ReadAttributes(resource).GetValueOrDefault("service.name", "");
            }
            foreach (var scopeSpans in resourceSpans.GetProperty("scopeSpans").EnumerateArray())
            {
                var scope = scopeSpans.GetProperty("scope").TryGetProperty("name", out var name) ? name.GetString() ?? "" : "";
                foreach (var span in scopeSpans.GetProperty("spans").EnumerateArray())
                {
                    var status = span.TryGetProperty("status", out var s) ? s : default;
                    var events = new List<OtlpEvent>();
                    if (span.TryGetProperty("events", out var list))
                    {
                        foreach (var e in list.EnumerateArray())
                        {
                            events.Add(new OtlpEvent(e.GetProperty("name").GetString() ?? "", ReadAttributes(e)));
                        }
                    }
                    spans.Add(new OtlpSpan(
                        service,
                        scope,
                        span.GetProperty("traceId").GetString()!,
                        span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() : null,
                        span.GetProperty("name").GetString()!,
                        span.TryGetProperty("kind", out var kind) ? kind.GetInt32() : 0,
                        status.ValueKind == JsonValueKind.Object && status.TryGetProperty("code", out var code) ? code.GetInt32() : 0,
                        status.ValueKind == JsonValueKind.Object && status.TryGetProperty("message", out var message) ? message.GetString() : null,
                        ReadAttributes(span),
                        events));
                }
            }
        }
        return spans;
    }

    private static Dictionary<string, string> ReadAttributes(JsonElement element)
    {
        var result = new Dictionary<string, string>();
        if (element.TryGetProperty("attributes", out var attributes))
        {
            foreach (var attribute in attributes.EnumerateArray())
            {
                var value = attribute.GetProperty("value");
                var first = value.EnumerateObject().FirstOrDefault();
                result[attribute.GetProperty("key").GetString()!] = first.Value.ValueKind == JsonValueKind.String ? first.Value.GetString()! : first.Value.ToString();
            }
        }
        return result;
    }
}

/// <summary>A span event and its attributes.</summary>
public sealed record OtlpEvent(string Name, IReadOnlyDictionary<string, string> Attributes);
