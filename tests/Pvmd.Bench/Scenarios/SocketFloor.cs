using System.Net.Sockets;
using Pvmd.Bench.Hosting;
using Pvmd.Bench.Reporting;

namespace Pvmd.Bench.Scenarios;

/// <summary>
/// The local path's floor on this machine: two processes trading an 8-byte request for a
/// 64-byte answer over a Unix socket and doing nothing else, once with both sleeping in recv(2)
/// between messages and once with both polling (as the local path does for a moment before it
/// sleeps). A small read through the local path cannot be faster than this round trip.
/// </summary>
internal static class SocketFloor
{
    /// <summary><c>pvmd-bench echo-server SOCKET sleep|poll</c>: the other process.</summary>
    public const string Mode = "echo-server";

    public static int RunServer(string[] args)
    {
        if (args is not [var path, "sleep" or "poll"])
        {
            Console.Error.WriteLine("usage: pvmd-bench echo-server SOCKET sleep|poll");
            return 2;
        }
        var poll = args[1] == "poll";
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var connection = listener.Accept();
        var request = new byte[8];
        var answer = new byte[64];
        while (Receive(connection, request, poll))
        {
            connection.Send(answer);
        }
        return 0;
    }

    public static async Task RunAsync(ResultTable table, string directory, BenchSettings settings, Action<string> progress)
    {
        foreach (var poll in new[] { false, true })
        {
            var key = poll ? "socket.polling" : "socket.sleeping";
            var path = $"Unix socket round trip between two processes, both {(poll ? "polling" : "sleeping in recv")} (the local path's floor)";
            await table.RunAsync(key, path, async () =>
            {
                var socketPath = Path.Combine(directory, $"{key}.sock");
                using var server = ChildProcess.Start("the echo server", BenchPaths.Self, [Mode, socketPath, poll ? "poll" : "sleep"]);
                Socket? connected = null;
                await server.WaitUntilAsync(() =>
                {
                    // Synchronous calls only: one asynchronous call would turn the socket
                    // non-blocking for good, and .NET would then emulate every blocking receive
                    // with its event loop (two more thread hops per message).
                    var attempt = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        attempt.Connect(new UnixDomainSocketEndPoint(socketPath));
                        connected = attempt;
                        return Task.FromResult(true);
                    }
                    catch (SocketException)
                    {
                        attempt.Dispose();
                        return Task.FromResult(false);
                    }
                }, TimeSpan.FromSeconds(30));
                using var socket = connected!;
                var request = new byte[8];
                var answer = new byte[64];
                var latency = Latency.Measure(settings.Warmup, settings.GrpcCalls, () =>
                {
                    socket.Send(request);
                    if (!Receive(socket, answer, poll))
                    {
                        throw new InvalidOperationException("the echo server closed the socket");
                    }
                });
                return new Row(key, path) { Latency = latency };
            }, progress);
        }
    }

    private static bool Receive(Socket socket, byte[] buffer, bool poll)
    {
        for (var offset = 0; offset < buffer.Length;)
        {
            if (poll)
            {
                while (socket.Available == 0)
                {
                    Thread.SpinWait(20);
                }
            }
            var read = socket.Receive(buffer, offset, buffer.Length - offset, SocketFlags.None);
            if (read == 0)
            {
                return false;
            }
            offset += read;
        }
        return true;
    }
}
