using Pvmd.Core;

namespace Pvmd.Server.Security;

/// <summary>
/// Counts the calls in progress, in total and per caller, and refuses one more beyond either
/// limit at once (RESOURCE_EXHAUSTED): callers retry; the daemon never queues unbounded work.
/// </summary>
public sealed class ConcurrencyLimiter(int total, int perCaller)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _perCaller = new(StringComparer.Ordinal);
    private int _total;

    public int InProgress
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <summary>Takes a slot for the caller, released when the lease is disposed.</summary>
    /// <exception cref="ResourceLimitException">A limit is reached.</exception>
    public Lease Acquire(string caller)
    {
        lock (_gate)
        {
            if (_total >= total)
            {
                throw Refuse("max-concurrent", total, $"the daemon is serving {total} calls, its limit (--max-concurrent): retry later");
            }
            _perCaller.TryGetValue(caller, out var mine);
            if (mine >= perCaller)
            {
                throw Refuse("max-concurrent-per-caller", perCaller, $"this caller has {perCaller} calls in progress, its limit (--max-concurrent-per-caller): retry later");
            }
            _perCaller[caller] = mine + 1;
            _total++;
        }
        return new Lease(this, caller);
    }

    private static ResourceLimitException Refuse(string limit, int value, string message)
    {
        var exception = new ResourceLimitException(limit, message);
        exception.Metadata["limit"] = limit;
        exception.Metadata["limit_value"] = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return exception;
    }

    private void Release(string caller)
    {
        lock (_gate)
        {
            _total--;
            if (_perCaller[caller] is var mine && mine <= 1)
            {
                _perCaller.Remove(caller);
            }
            else
            {
                _perCaller[caller] = mine - 1;
            }
        }
    }

    /// <summary>One call's slot.</summary>
    public sealed class Lease(ConcurrencyLimiter owner, string caller) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(caller);
            }
        }
    }
}
