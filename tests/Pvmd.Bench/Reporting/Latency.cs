using System.Diagnostics;

namespace Pvmd.Bench.Reporting;

/// <summary>Median and 99th percentile of a set of call durations, in microseconds.</summary>
internal readonly record struct Latency(double MedianMicroseconds, double P99Microseconds, int Calls)
{
    /// <summary>Times <paramref name="calls"/> runs of <paramref name="call"/> after
    /// <paramref name="warmup"/> untimed ones.</summary>
    public static async Task<Latency> MeasureAsync(int warmup, int calls, Func<Task> call)
    {
        for (var i = 0; i < warmup; i++)
        {
            await call();
        }
        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return Of(samples);
    }

    /// <summary>The same for a synchronous call.</summary>
    public static Latency Measure(int warmup, int calls, Action call)
    {
        for (var i = 0; i < warmup; i++)
        {
            call();
        }
        var samples = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return Of(samples);
    }

    public static Latency Of(double[] samples)
    {
        Array.Sort(samples);
        return new(At(samples, 0.50), At(samples, 0.99), samples.Length);
    }

    private static double At(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
