using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pvmd.V1;

namespace Pvmd.Bench.Baseline;

/// <summary>
/// <c>pvmd-bench baseline-server SOCKET</c>: a Grpc.AspNetCore server that does no work,
/// serving the daemon's own contract on a Unix socket with the daemon's Kestrel and gRPC
/// settings (server/Pvmd.Server/Program.cs), so that what separates it from pvmd is the
/// daemon's own work: the syscalls, the access checks, the interceptors. ReadRemote streams
/// messages of one chunk each, at most 1 MiB (the daemon's default --chunk-bytes), wrapping one
/// static array without a copy, until every range's length is sent; the last message of a
/// range carries its result, as the daemon's does.
/// </summary>
internal static class BaselineServer
{
    public const string Mode = "baseline-server";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine($"usage: pvmd-bench {Mode} SOCKET");
            return 2;
        }
        var socket = args[0];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc(o =>
        {
            // As the daemon: no cap on what it sends, receives up to a write's size.
            o.MaxReceiveMessageSize = (16 << 20) + (64 << 10);
            o.MaxSendMessageSize = null;
            o.EnableDetailedErrors = false;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The daemon's HTTP/2 settings, one for one.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 8 << 20;
            kestrel.Limits.Http2.MaxFrameSize = (1 << 20) - 1;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.ListenUnixSocket(socket, l => l.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapGrpcService<DoNothingService>();
        await app.RunAsync();
        return 0;
    }
}

/// <summary>The contract, answered without touching any process.</summary>
internal sealed class DoNothingService : RemoteMemory.RemoteMemoryBase
{
    private const int ChunkBytes = 1 << 20;

    private static readonly byte[] s_chunk = CreateChunk();
    private static readonly Platform s_platform = new() { Arch = "none", DaemonVersion = "baseline" };

    public override async Task ReadRemote(ReadRemoteRequest request, IServerStreamWriter<ReadRemoteResponse> responseStream, ServerCallContext context)
    {
        for (var index = 0; index < request.Ranges.Count; index++)
        {
            var range = request.Ranges[index];
            var sent = 0UL;
            do
            {
                var length = (int)Math.Min(ChunkBytes, range.Length - sent);
                var response = new ReadRemoteResponse();
                response.Chunks.Add(new Chunk
                {
                    RangeIndex = (uint)index,
                    Address = range.Address + sent,
                    Data = UnsafeByteOperations.UnsafeWrap(s_chunk.AsMemory(0, length)),
                });
                sent += (ulong)length;
                if (sent >= range.Length)
                {
                    response.Results.Add(new RangeResult
                    {
                        RangeIndex = (uint)index,
                        Address = range.Address,
                        Length = range.Length,
                        BytesRead = range.Length,
                        SyscallReturned = range.Length,
                    });
                }
                await responseStream.WriteAsync(response);
            }
            while (sent < range.Length);
        }
    }

    public override Task<Platform> GetPlatform(GetPlatformRequest request, ServerCallContext context) => Task.FromResult(s_platform);

    private static byte[] CreateChunk()
    {
        var chunk = new byte[ChunkBytes];
        chunk.AsSpan().Fill(0x42);
        return chunk;
    }
}
