using Grpc.Core;

namespace Pvmd.Tests.Client;

/// <summary>A call invoker that answers from memory: unary calls from a function of the
/// request, server-streaming calls with a list of messages and, optionally, a final failure.</summary>
internal sealed class FakeCallInvoker : CallInvoker
{
    public Func<object, object>? Unary { get; init; }

    public IReadOnlyList<object> Stream { get; init; } = [];

    public RpcException? StreamFailure { get; init; }

    public List<object> Requests { get; } = [];

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        Requests.Add(request);
        Task<TResponse> response;
        try
        {
            response = Task.FromResult((TResponse)Unary!(request));
        }
        catch (Exception e)
        {
            response = Task.FromException<TResponse>(e);
        }

        return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        Requests.Add(request);
        var reader = new Reader<TResponse>([.. Stream.Cast<TResponse>()], StreamFailure);
        return new AsyncServerStreamingCall<TResponse>(reader, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new NotSupportedException();

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();

    private sealed class Reader<T>(IReadOnlyList<T> items, RpcException? failure) : IAsyncStreamReader<T>
    {
        private int _next;

        public T Current { get; private set; } = default!;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (_next < items.Count)
            {
                Current = items[_next++];
                return Task.FromResult(true);
            }

            return failure is null ? Task.FromResult(false) : Task.FromException<bool>(failure);
        }
    }
}
