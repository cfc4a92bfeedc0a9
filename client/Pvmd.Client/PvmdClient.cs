using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
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
        UnaryAsync(_client.GetPlatformAsync(new GetPlatformRequest(), cancellationToken: cancellationToken));

    /// <summary>Lists the processes visible to the daemon (its PID namespace).</summary>
    /// <param name="filter">Criteria every returned process matches; null for all processes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching processes.</returns>
    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(ProcessFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var request = (filter ?? new ProcessFilter()).ToProto();
        var response = await UnaryAsync(_client.ListProcessesAsync(request, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return response.Processes;
    }

    /// <summary>Returns the target's memory map, as /proc/PID/maps shows it.</summary>
    /// <param name="target">The process.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mapped regions in address order.</returns>
    public async Task<IReadOnlyList<Region>> ListRegionsAsync(TargetProcess target, CancellationToken cancellationToken = default)
    {
        var request = new ListRegionsRequest { Target = target.ToProto() };
        var response = await UnaryAsync(_client.ListRegionsAsync(request, cancellationToken: cancellationToken)).ConfigureAwait(false);
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

        return StreamAsync(() => _client.ReadRemote(request, cancellationToken: cancellationToken), cancellationToken);
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
        return UnaryAsync(_client.WriteRemoteAsync(request, cancellationToken: cancellationToken));
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
        return StreamAsync(() => _client.ProbeShortBuffer(request, cancellationToken: cancellationToken), cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose() => _channel?.Dispose();

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

    private async Task<T> UnaryAsync<T>(AsyncUnaryCall<T> call)
    {
        using (call)
        {
            try
            {
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                throw PvmdClientException.FromRpcException(e, _endpoint);
            }
        }
    }

    private async IAsyncEnumerable<T> StreamAsync<T>(Func<AsyncServerStreamingCall<T>> start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = start();
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
                throw PvmdClientException.FromRpcException(e, _endpoint);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && TryGetFailure(call) is { } failure)
            {
                // Not our cancellation: the call ended with a status; report that instead.
                throw PvmdClientException.FromRpcException(failure, _endpoint);
            }

            if (!moved)
            {
                yield break;
            }

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
}
