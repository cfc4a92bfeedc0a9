using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pvmd.Client.LocalPath;
using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>A client of the pvmd daemon: reads and writes other processes' memory and reports
/// what each transfer really changed. Calls return the contract's messages (<see cref="Platform"/>,
/// <see cref="RangeResult"/>, <see cref="ProbeCase"/>...); failures are thrown as
/// <see cref="PvmdClientException"/> subtypes. Thread-safe; keep one per daemon and reuse it.</summary>
public sealed class PvmdClient : IDisposable, IAsyncDisposable
{
    private readonly GrpcChannel? _channel;
    private readonly RemoteMemory.RemoteMemoryClient _client;
    private readonly string? _endpoint;
    private readonly LocalPathPool? _localPath;

    /// <summary>A local read of at most this many bytes runs on the caller's thread: it is over
    /// sooner than a switch to another thread would be.</summary>
    private const int InlineLocalReadBytes = 1 << 20;

    /// <summary>Creates a client for the daemon the options describe. No connection is made
    /// until the first call.</summary>
    /// <param name="options">Where the daemon listens.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PvmdClient(PvmdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _channel = CreateChannel(options);
        _client = new RemoteMemory.RemoteMemoryClient(_channel);
        _endpoint = options.Endpoint;
        Options = options;
        if (options.SocketPath is { } socketPath && options.UseLocalPath)
        {
            _localPath = new LocalPathPool(_client, socketPath);
        }
    }

    /// <summary>Creates a client over an existing call invoker (a channel with interceptors, a
    /// test double). The caller keeps ownership of whatever the invoker uses.</summary>
    /// <param name="callInvoker">The invoker every call goes through.</param>
    /// <param name="endpoint">A name for the daemon in error messages, if known.</param>
    public PvmdClient(CallInvoker callInvoker, string? endpoint = null)
    {
        ArgumentNullException.ThrowIfNull(callInvoker);
        _client = new RemoteMemory.RemoteMemoryClient(callInvoker);
        _endpoint = endpoint;
    }

    /// <summary>The options this client was created with; null when created over a call invoker.</summary>
    public PvmdClientOptions? Options { get; }

    /// <summary>True once a read has gone through the node-local path (see
    /// <see cref="PvmdClientOptions.UseLocalPath"/>).</summary>
    public bool LocalPathUsed { get; private set; }

    /// <summary>Why reads go over gRPC although <see cref="PvmdClientOptions.UseLocalPath"/> is
    /// set (the daemon has the path off, or its socket is not reachable from here); null while
    /// nothing says so.</summary>
    public string? LocalPathUnavailableReason => _localPath?.UnavailableReason;

    /// <summary>Creates a client for a daemon on a Unix domain socket.</summary>
    /// <param name="socketPath">The socket's path; <see cref="PvmdClientOptions.DefaultSocketPath"/> by default.</param>
    /// <returns>The client.</returns>
    public static PvmdClient ForSocket(string socketPath = PvmdClientOptions.DefaultSocketPath) =>
        new(PvmdClientOptions.ForSocket(socketPath));

    /// <summary>Creates a client for a daemon at an http or https URL.</summary>
    /// <param name="address">The daemon's URL.</param>
    /// <returns>The client.</returns>
    public static PvmdClient ForAddress(Uri address) => new(PvmdClientOptions.ForAddress(address));

    /// <summary>Describes the host the daemon runs on: architecture, kernel, page size, CPU,
    /// ptrace restrictions and the daemon's version.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The host's description.</returns>
    public Task<Platform> GetPlatformAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync("GetPlatform", null, headers => _client.GetPlatformAsync(new GetPlatformRequest(), headers, cancellationToken: cancellationToken));

    /// <summary>Lists the processes visible to the daemon (its PID namespace).</summary>
    /// <param name="filter">Criteria every returned process matches; null for all processes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching processes.</returns>
    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(ProcessFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var request = (filter ?? new ProcessFilter()).ToProto();
        var response = await UnaryAsync("ListProcesses", null, headers => _client.ListProcessesAsync(request, headers, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return response.Processes;
    }

    /// <summary>Returns the target's memory map, as /proc/PID/maps shows it.</summary>
    /// <param name="target">The process.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mapped regions in address order.</returns>
    public async Task<IReadOnlyList<Region>> ListRegionsAsync(TargetProcess target, CancellationToken cancellationToken = default)
    {
        var request = new ListRegionsRequest { Target = target.ToProto() };
        var response = await UnaryAsync("ListRegions", target, headers => _client.ListRegionsAsync(request, headers, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return response.Regions;
    }

    /// <summary>Reads one range of the target's memory. Unreadable parts are not an error: they
    /// are the result's holes, and every readable byte around them is returned.</summary>
    /// <param name="target">The process.</param>
    /// <param name="address">The first address.</param>
    /// <param name="length">The number of bytes.</param>
    /// <param name="verify">Ask the daemon to check the kernel's count against the bytes it
    /// really wrote (<see cref="RangeResult.Check"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The range's bytes and account.</returns>
    public async Task<RangeReadResult> ReadAsync(TargetProcess target, ulong address, ulong length, bool verify = false, CancellationToken cancellationToken = default)
    {
        var results = await ReadAsync(target, [new MemoryRange(address, length)], verify, cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Reads several ranges in one round trip and assembles each range's chunks with
    /// its result. The whole read is held in memory; for large reads use
    /// <see cref="ReadStreamAsync"/> (with <see cref="ReadResultAssembler"/> for one range at a time).</summary>
    /// <param name="target">The process.</param>
    /// <param name="ranges">The ranges, at most the daemon's maximum count.</param>
    /// <param name="verify">Ask the daemon to check the kernel's count against the bytes it
    /// really wrote (<see cref="RangeResult.Check"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per range, in request order.</returns>
    public async Task<IReadOnlyList<RangeReadResult>> ReadAsync(TargetProcess target, IReadOnlyList<MemoryRange> ranges, bool verify = false, CancellationToken cancellationToken = default)
    {
        var assembler = new ReadResultAssembler(CheckRanges(ranges));
        var results = new List<RangeReadResult>(ranges.Count);
        await foreach (var response in ReadStreamAsync(target, ranges, verify, cancellationToken).ConfigureAwait(false))
        {
            results.AddRange(assembler.Add(response));
        }

        assembler.Complete();
        results.Sort((a, b) => a.Index.CompareTo(b.Index));
        return results;
    }

    /// <summary>Reads several ranges and yields the daemon's messages as they arrive, so a
    /// caller can write the bytes out without holding the read in memory.</summary>
    /// <param name="target">The process.</param>
    /// <param name="ranges">The ranges, at most the daemon's maximum count.</param>
    /// <param name="verify">Ask the daemon to check the kernel's count against the bytes it
    /// really wrote (<see cref="RangeResult.Check"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stream: chunks in address order within each range and each range's result
    /// once the range is finished.</returns>
    public IAsyncEnumerable<ReadRemoteResponse> ReadStreamAsync(TargetProcess target, IReadOnlyList<MemoryRange> ranges, bool verify = false, CancellationToken cancellationToken = default)
    {
        CheckRanges(ranges);
        var request = new ReadRemoteRequest { Target = target.ToProto(), Verify = verify };
        foreach (var range in ranges)
        {
            request.Ranges.Add(range.ToProto());
        }

        return _localPath is null
            ? ReadOverGrpcAsync(request, target, cancellationToken)
            : ReadPreferringLocalAsync(request, target, cancellationToken);
    }

    /// <summary>Reads one range into the caller's buffer: the bytes land at their offset from
    /// <paramref name="address"/>, and the holes (never written to) are in the result. Through
    /// the node-local path when it is in use, the bytes are copied once, from the memory the
    /// daemon read them into; nothing is allocated per chunk.</summary>
    /// <param name="target">The process.</param>
    /// <param name="address">The first address.</param>
    /// <param name="destination">Where the bytes go; its length is the range's length.</param>
    /// <param name="verify">Ask the daemon to check the kernel's count against the bytes it
    /// really wrote (<see cref="RangeResult.Check"/>).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The daemon's account of the range.</returns>
    public async Task<RangeResult> ReadIntoAsync(TargetProcess target, ulong address, Memory<byte> destination, bool verify = false, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
        {
            throw new ArgumentException("The destination is empty.", nameof(destination));
        }

        var length = (ulong)destination.Length;
        var request = new ReadRemoteRequest { Target = target.ToProto(), Verify = verify, Ranges = { new MemoryRange(address, length).ToProto() } };
        RangeResult? result = null;
        void Take(Chunk chunk, ReadOnlySpan<byte> data)
        {
            if (chunk.Address < address || (ulong)data.Length > length || chunk.Address - address > length - (ulong)data.Length)
            {
                throw new UnexpectedResponseException($"the daemon sent bytes at 0x{chunk.Address:x}, outside the range read");
            }

            data.CopyTo(destination.Span[(int)(chunk.Address - address)..]);
        }

        var connection = _localPath is null ? null : await _localPath.RentAsync(cancellationToken).ConfigureAwait(false);
        if (connection is not null)
        {
            RangeResult? CopyLocal()
            {
                using var read = new LocalRead(this, connection, request, target, cancellationToken);
                while (read.MoveNext())
                {
                    var batch = read.Current;
                    for (var i = 0; i < batch.Response.Chunks.Count; i++)
                    {
                        Take(batch.Response.Chunks[i], read.Data(i));
                    }

                    foreach (var finished in batch.Response.Results)
                    {
                        result = finished;
                    }
                }

                return result;
            }

            // No token for Task.Run: a cancelled token would drop the task before it runs, and
            // with it the connection it must give back; the read itself watches the token.
            return (destination.Length > InlineLocalReadBytes ? await Task.Run(CopyLocal).ConfigureAwait(false) : CopyLocal())
                ?? throw new UnexpectedResponseException("the daemon ended the read without the range's result");
        }

        await foreach (var response in ReadOverGrpcAsync(request, target, cancellationToken).ConfigureAwait(false))
        {
            foreach (var chunk in response.Chunks)
            {
                Take(chunk, chunk.Data.Span);
            }

            foreach (var finished in response.Results)
            {
                result = finished;
            }
        }

        return result ?? throw new UnexpectedResponseException("the daemon ended the read without the range's result");
    }

    /// <summary>Writes bytes into the target. A short write is not an error: the response says
    /// how many bytes the kernel reported and where and why writing stopped.</summary>
    /// <param name="target">The process.</param>
    /// <param name="address">Where the data goes.</param>
    /// <param name="data">The bytes to write.</param>
    /// <param name="verify">Snapshot the target before, read it back after, and report what
    /// really changed (<see cref="WriteRemoteResponse.Check"/>).</param>
    /// <param name="force">Write through /proc/PID/mem, which ignores page protection (as
    /// debuggers do to plant breakpoints in read-only text).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The kernel's count, where writing stopped, and with verify the check.</returns>
    public Task<WriteRemoteResponse> WriteAsync(TargetProcess target, ulong address, ReadOnlyMemory<byte> data, bool verify = false, bool force = false, CancellationToken cancellationToken = default)
    {
        var request = new WriteRemoteRequest
        {
            Target = target.ToProto(),
            Address = address,
            Data = ByteString.CopyFrom(data.Span),
            Verify = verify,
            Force = force,
        };
        return UnaryAsync(
            "WriteRemote",
            target,
            headers => _client.WriteRemoteAsync(request, headers, cancellationToken: cancellationToken),
            span => PvmdClientTelemetry.SetTransfer(span, address, (ulong)data.Length, verify),
            PvmdClientTelemetry.OnWrite);
    }

    /// <summary>Runs the short-buffer probe on the daemon's host: for each case, does the
    /// kernel's returned count match the bytes it really changed?</summary>
    /// <param name="request">The sweep to run; an empty request runs the default sweep.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns>The stream: one <see cref="ProbeCase"/> per reported case (non-EXACT ones, or
    /// all with <see cref="ProbeRequest.IncludeExact"/>), <see cref="ProbeProgress"/> every
    /// <see cref="ProbeRequest.ProgressEvery"/> cases, then one <see cref="ProbeSummary"/>.</returns>
    public IAsyncEnumerable<ProbeResponse> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        TargetProcess? target = request.Target is { Pid: not 0 } given ? new TargetProcess(given.Pid, given.StartTime) : null;
        return StreamAsync(
            "ProbeShortBuffer",
            target,
            headers => _client.ProbeShortBuffer(request, headers, cancellationToken: cancellationToken),
            cancellationToken,
            describe: null,
            static (span, response) =>
            {
                if (response.KindCase == ProbeResponse.KindOneofCase.Case)
                {
                    PvmdClientTelemetry.OnProbeCase(span, response.Case);
                }
                else if (response.KindCase == ProbeResponse.KindOneofCase.Summary)
                {
                    PvmdClientTelemetry.OnProbeSummary(span, response.Summary);
                }
            });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _localPath?.Dispose();
        _channel?.Dispose();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static int CheckRanges(IReadOnlyList<MemoryRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
        {
            throw new ArgumentException("Give at least one range.", nameof(ranges));
        }

        return ranges.Count;
    }

    private IAsyncEnumerable<ReadRemoteResponse> ReadOverGrpcAsync(ReadRemoteRequest request, TargetProcess target, CancellationToken cancellationToken) =>
        StreamAsync(
            "ReadRemote",
            target,
            headers => _client.ReadRemote(request, headers, cancellationToken: cancellationToken),
            cancellationToken,
            span => PvmdClientTelemetry.SetTransfer(span, request.Ranges[0].Address, TotalLength(request), request.Verify),
            static (span, response) =>
            {
                foreach (var result in response.Results)
                {
                    PvmdClientTelemetry.OnRange(span, result);
                }
            });

    /// <summary>The read through a local connection when one can be had, else over gRPC. Each
    /// message's bytes are copied out of the shared memory, so messages stay valid after the
    /// caller moves on, as gRPC's do.</summary>
    private async IAsyncEnumerable<ReadRemoteResponse> ReadPreferringLocalAsync(ReadRemoteRequest request, TargetProcess target, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = await _localPath!.RentAsync(cancellationToken).ConfigureAwait(false);
        if (connection is null)
        {
            await foreach (var response in ReadOverGrpcAsync(request, target, cancellationToken).ConfigureAwait(false))
            {
                yield return response;
            }

            yield break;
        }

        using var read = new LocalRead(this, connection, request, target, cancellationToken);
        while (read.MoveNext())
        {
            yield return read.CopyCurrent();
        }
    }

    private static ulong TotalLength(ReadRemoteRequest request)
    {
        var total = 0UL;
        foreach (var range in request.Ranges)
        {
            total += range.Length;
        }

        return total;
    }

    /// <summary>One unary call in its client span (see <see cref="PvmdClientTelemetry"/>): the
    /// span's trace context goes in the call's headers, and <paramref name="observe"/> marks
    /// on it what the response says.</summary>
    private async Task<T> UnaryAsync<T>(
        string method,
        TargetProcess? target,
        Func<Metadata?, AsyncUnaryCall<T>> start,
        Action<Activity>? describe = null,
        Action<Activity?, T>? observe = null)
    {
        using var span = PvmdClientTelemetry.StartCall(method, target, _endpoint);
        if (span is not null)
        {
            describe?.Invoke(span);
        }

        using var call = start(PvmdClientTelemetry.Headers(span));
        try
        {
            var response = await call.ResponseAsync.ConfigureAwait(false);
            PvmdClientTelemetry.OnSuccess(span);
            observe?.Invoke(span, response);
            return response;
        }
        catch (RpcException e)
        {
            PvmdClientTelemetry.OnFailure(span, e);
            throw PvmdClientException.FromRpcException(e, _endpoint);
        }
    }

    /// <summary>One streaming call in its client span, which lasts until the stream ends or the
    /// caller stops reading it; <paramref name="observe"/> sees every message.</summary>
    private async IAsyncEnumerable<T> StreamAsync<T>(
        string method,
        TargetProcess? target,
        Func<Metadata?, AsyncServerStreamingCall<T>> start,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        Action<Activity>? describe = null,
        Action<Activity?, T>? observe = null)
    {
        using var span = PvmdClientTelemetry.StartCall(method, target, _endpoint);
        if (span is not null)
        {
            describe?.Invoke(span);
        }

        using var call = start(PvmdClientTelemetry.Headers(span));
        var headersSeen = false;
        while (true)
        {
            // A yield cannot sit inside a try with a catch, so only the move is guarded.
            bool moved;
            try
            {
                if (!headersSeen)
                {
                    // With ThrowOperationCanceledOnCancellation, a call that fails before its
                    // headers (daemon unreachable) surfaces from MoveNext as a bare
                    // TaskCanceledException; awaiting the headers first yields the real status.
                    await call.ResponseHeadersAsync.ConfigureAwait(false);
                    headersSeen = true;
                }

                moved = await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                PvmdClientTelemetry.OnFailure(span, e);
                throw PvmdClientException.FromRpcException(e, _endpoint);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && TryGetFailure(call) is { } failure)
            {
                // Not our cancellation: the call ended with a status; report that instead.
                PvmdClientTelemetry.OnFailure(span, failure);
                throw PvmdClientException.FromRpcException(failure, _endpoint);
            }

            if (!moved)
            {
                PvmdClientTelemetry.OnSuccess(span);
                yield break;
            }

            observe?.Invoke(span, call.ResponseStream.Current);
            yield return call.ResponseStream.Current;
        }
    }

    private static RpcException? TryGetFailure<T>(AsyncServerStreamingCall<T> call)
    {
        try
        {
            var status = call.GetStatus();
            return status.StatusCode == StatusCode.OK ? null : new RpcException(status, call.GetTrailers());
        }
        catch (InvalidOperationException)
        {
            // The call has not finished: the cancellation was real.
            return null;
        }
    }

    private static GrpcChannel CreateChannel(PvmdClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Long reads and probes stream for a while; keep the connection checked, not idle-killed.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
            // The daemon streams reads in 1 MiB messages: a 64 KiB initial stream window (the
            // default) would hold each message back for window updates until the window grows.
            InitialHttp2StreamWindowSize = 16 << 20,
        };

        Uri address;
        if (options.SocketPath is { } socketPath)
        {
            var endPoint = new UnixDomainSocketEndPoint(socketPath);
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException) when (!File.Exists(socketPath))
                {
                    // .NET reports connect(2)'s ENOENT on a Unix socket as "Cannot assign requested address".
                    socket.Dispose();
                    throw new IOException($"{socketPath} does not exist (is the daemon running?)");
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };

            // The authority is not used for routing on a Unix socket, only in the :authority header.
            address = new Uri("http://localhost");
        }
        else
        {
            address = options.Address!;
            if (options.Tls is { } tls)
            {
                handler.SslOptions = tls.ToSslOptions();
            }
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            // Let a cancelled token surface as OperationCanceledException, as .NET callers expect.
            ThrowOperationCanceledOnCancellation = true,
        });
    }

    /// <summary>One read over a local connection, in the client span a gRPC read would have:
    /// failures are mapped as gRPC's are, a cancellation aborts the connection (the daemon
    /// stops at its next send), and the connection goes back to the pool at the end, which
    /// closes it unless it can take another read.</summary>
    private sealed class LocalRead : IDisposable
    {
        private readonly PvmdClient _owner;
        private readonly LocalPathConnection _connection;
        private readonly Activity? _span;
        private readonly IEnumerator<LocalBatch> _batches;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenRegistration _cancellation;

        public LocalRead(PvmdClient owner, LocalPathConnection connection, ReadRemoteRequest request, TargetProcess target, CancellationToken cancellationToken)
        {
            _owner = owner;
            _connection = connection;
            _cancellationToken = cancellationToken;
            _span = PvmdClientTelemetry.StartCall("ReadRemote", target, owner._endpoint);
            _span?.SetTag(PvmdClientTelemetry.LocalPath, true);
            PvmdClientTelemetry.SetTransfer(_span, request.Ranges[0].Address, TotalLength(request), request.Verify);
            _cancellation = cancellationToken.Register(connection.Abort);
            _batches = connection.Read(request, _span).GetEnumerator();
        }

        public LocalBatch Current => _batches.Current;

        public ReadOnlySpan<byte> Data(int index) => _connection.Data(_batches.Current, index);

        public bool MoveNext()
        {
            try
            {
                _cancellationToken.ThrowIfCancellationRequested();
                if (!_batches.MoveNext())
                {
                    PvmdClientTelemetry.OnSuccess(_span);
                    _owner.LocalPathUsed = true;
                    return false;
                }

                foreach (var result in _batches.Current.Response.Results)
                {
                    PvmdClientTelemetry.OnRange(_span, result);
                }

                return true;
            }
            catch (RpcException e)
            {
                PvmdClientTelemetry.OnFailure(_span, e);
                throw PvmdClientException.FromRpcException(e, _owner._endpoint);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or InvalidDataException)
            {
                _connection.Abort();
                _cancellationToken.ThrowIfCancellationRequested();
                throw new DaemonUnavailableException($"the local path to {_owner._endpoint} failed: {e.Message}", "LOCAL_PATH_FAILED", e);
            }
        }

        public ReadRemoteResponse CopyCurrent()
        {
            var batch = _batches.Current;
            var response = new ReadRemoteResponse();
            response.Results.Add(batch.Response.Results);
            for (var i = 0; i < batch.Response.Chunks.Count; i++)
            {
                var chunk = batch.Response.Chunks[i];
                response.Chunks.Add(new Chunk { RangeIndex = chunk.RangeIndex, Address = chunk.Address, Data = ByteString.CopyFrom(_connection.Data(batch, i)) });
            }

            return response;
        }

        public void Dispose()
        {
            _cancellation.Dispose();
            _batches.Dispose();
            _span?.Dispose();
            _owner._localPath!.Return(_connection);
        }
    }
}
