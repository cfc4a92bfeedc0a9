using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Pvmd.V1;

namespace Pvmd.Tests.Infrastructure;

/// <summary>
/// One run of the real <c>pvmd</c> executable. Its environment holds no PVMD_* or Pvmd__*
/// variable the test did not give, so the tests' own environment cannot change its options.
/// Its stdout and stderr are kept for failure messages; disposing kills it.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly OutputLog _log = new();
    private GrpcChannel? _channel;

    private DaemonProcess(Process process, string socketPath)
    {
        _process = process;
        SocketPath = socketPath;
        _process.ErrorDataReceived += (_, e) => _log.Append(e.Data);
        _process.OutputDataReceived += (_, e) => _log.Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>The socket the test expects the daemon on.</summary>
    public string SocketPath { get; }

    public Process Process => _process;

    /// <summary>What the daemon wrote on stdout and stderr so far.</summary>
    public string Log => _log.ToString();

    internal GrpcChannel Channel => _channel ??= UnixSocketChannel.Create(SocketPath);

    internal RemoteMemory.RemoteMemoryClient Client => new(Channel);

    /// <summary>Starts pvmd with <paramref name="arguments"/> and the extra environment
    /// <paramref name="environment"/>; <paramref name="socketPath"/> is where the test
    /// expects it to listen (given in the arguments or the environment).</summary>
    public static DaemonProcess Start(string socketPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(RepoPaths.Daemon)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("PVMD_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Pvmd__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("pvmd did not start");
        return new DaemonProcess(process, socketPath);
    }

    /// <summary>The health service's answer, within a short deadline.</summary>
    internal async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync()
    {
        var response = await new Health.HealthClient(Channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        return response.Status;
    }

    /// <summary>Waits until the health service answers SERVING; fails with the daemon's log
    /// if it exits first or takes too long.</summary>
    public async Task WaitUntilServingAsync()
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < s_startTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"pvmd exited with code {_process.ExitCode} before serving:\n{Log}");
            }
            if (File.Exists(SocketPath))
            {
                try
                {
                    if (await CheckHealthAsync() == HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        return;
                    }
                }
                catch (RpcException e)
                {
                    last = e;
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"pvmd did not report SERVING within {s_startTimeout.TotalSeconds} s (last error: {last?.Message}):\n{Log}");
    }

    /// <summary>Waits for the daemon to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"pvmd did not exit within {timeout.TotalSeconds} s:\n{Log}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
