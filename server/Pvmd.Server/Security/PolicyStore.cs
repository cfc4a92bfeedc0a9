namespace Pvmd.Server.Security;

/// <summary>
/// The policy in force. No --policy: the built-in default policy. A --policy file is read and
/// checked at start (a mistake stops the daemon with "FILE:LINE: why") and again on each SIGHUP:
/// a new policy replaces the old one atomically between calls (calls in progress finish under
/// the policy they started with, connections stay open); an invalid one is refused, logged,
/// and the previous policy stays in force.
/// </summary>
public sealed class PolicyStore(Policy initial, SecurityOptions options, ILogger<PolicyStore> logger)
{
    private Policy _current = initial;

    public Policy Current => Volatile.Read(ref _current);

    /// <summary>Loads the policy the options name, as at start.</summary>
    /// <exception cref="PolicyException">The file is missing, invalid, or has no rules while
    /// --allow-empty-policy is not given.</exception>
    public static Policy Load(SecurityOptions options)
    {
        if (string.IsNullOrEmpty(options.Policy))
        {
            return PolicyParser.Default;
        }
        var policy = PolicyParser.Load(options.Policy);
        if (policy.IsEmpty && !options.AllowEmptyPolicy)
        {
            throw new PolicyException($"{options.Policy}: the policy has no rules, so every call would be denied; if that is what you want, add --allow-empty-policy (to get the built-in default policy instead, give no --policy)");
        }
        return policy;
    }

    /// <summary>Re-reads the policy file; keeps the current policy when it is invalid.</summary>
    public bool Reload()
    {
        try
        {
            var policy = Load(options);
            Volatile.Write(ref _current, policy);
            SecurityLog.PolicyReloaded(logger, policy.Rules.Count, policy.Source);
            return true;
        }
        catch (PolicyException e)
        {
            SecurityLog.PolicyReloadFailed(logger, Current.Rules.Count, e.Message);
            return false;
        }
    }
}
