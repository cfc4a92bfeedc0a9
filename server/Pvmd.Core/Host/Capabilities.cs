using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Pvmd.Core.Interop;

namespace Pvmd.Core.Host;

/// <summary>The capability sets of a thread, as /proc/PID/status shows them.</summary>
public readonly record struct CapabilitySets(ulong Effective, ulong Permitted, ulong Inheritable, ulong Bounding, ulong Ambient);

/// <summary>What <see cref="Capabilities.RestrictTo"/> did.</summary>
public enum RestrictOutcome
{
    /// <summary>The process held nothing beyond what it keeps: nothing to do.</summary>
    NothingToDrop,
    /// <summary>This process image was started by <see cref="Capabilities.RestrictTo"/> after
    /// it dropped the rest; it must not re-execute again.</summary>
    AlreadyRestricted,
    /// <summary>The process could not drop (no CAP_SETPCAP for the bounding set, or execve failed).</summary>
    Failed,
}

/// <summary>
/// Reading and dropping Linux capabilities. Capability sets, the bounding set and no_new_privs
/// belong to each thread, and capset(2) changes only the calling thread: once the .NET runtime
/// has started its own threads (finalizer, thread pool, timers), dropping in place would leave
/// those threads with everything. So the daemon drops on its main thread and re-executes
/// itself: execve(2) ends every other thread and the new image starts with the reduced sets
/// in every thread it ever creates.
/// </summary>
public static class Capabilities
{
    public const int SetPcap = 8;
    public const int NetBindService = 10;
    public const int SysPtrace = 19;

    /// <summary>Set in the environment of the re-executed image so it does not loop.</summary>
    public const string MarkerVariable = "PVMD_CAPABILITIES_RESTRICTED";

    private static readonly string[] s_names =
    [
        "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
        "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
        "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
        "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
        "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
    ];

    /// <summary>A set holding the given capability numbers.</summary>
    public static ulong Mask(params int[] capabilities) => capabilities.Aggregate(0UL, (mask, cap) => mask | (1UL << cap));

    /// <summary>The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCapability()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return s_names.Length - 1;
        }
    }

    /// <summary>The sets of a process or thread, from its status file.</summary>
    public static CapabilitySets Read(string statusPath = "/proc/self/status")
    {
        ulong eff = 0, prm = 0, inh = 0, bnd = 0, amb = 0;
        foreach (var line in File.ReadLines(statusPath))
        {
            if (!line.StartsWith("Cap", StringComparison.Ordinal))
            {
                continue;
            }
            var colon = line.IndexOf(':');
            var value = ulong.Parse(line.AsSpan(colon + 1).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            switch (line[..colon])
            {
                case "CapEff": eff = value; break;
                case "CapPrm": prm = value; break;
                case "CapInh": inh = value; break;
                case "CapBnd": bnd = value; break;
                case "CapAmb": amb = value; break;
            }
        }
        return new CapabilitySets(eff, prm, inh, bnd, amb);
    }

    /// <summary>The effective set of every thread of this process: after a restriction they
    /// must all be equal, which the daemon checks and reports at start.</summary>
    public static IReadOnlyList<(int Thread, ulong Effective)> ThreadEffectiveSets()
    {
        var result = new List<(int, ulong)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                result.Add((int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture), Read(Path.Combine(directory, "status")).Effective));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended while the directory was listed.
            }
        }
        return result;
    }

    /// <summary>"sys_ptrace,net_bind_service", "none", or "all (41)".</summary>
    public static string Describe(ulong mask)
    {
        if (mask == 0)
        {
            return "none";
        }
        var last = LastCapability();
        if (mask == (last >= 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1))
        {
            return $"all ({last + 1})";
        }
        var text = new StringBuilder();
        for (var cap = 0; cap < 64; cap++)
        {
            if ((mask & (1UL << cap)) != 0)
            {
                text.Append(text.Length == 0 ? "" : ",").Append(cap < s_names.Length ? s_names[cap] : $"cap_{cap}");
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// Restricts the whole process to <paramref name="keep"/>: drops every other capability
    /// from the bounding set, clears the inheritable and ambient sets to <paramref name="keep"/>,
    /// sets no_new_privs, and re-executes the same program with the same arguments. Returns
    /// only when there is nothing to drop, when this image is already the restricted one, or
    /// on failure (with the reason in <paramref name="error"/>).
    /// </summary>
    public static RestrictOutcome RestrictTo(ulong keep, out string? error)
    {
        error = null;
        if (Environment.GetEnvironmentVariable(MarkerVariable) == "1")
        {
            return RestrictOutcome.AlreadyRestricted;
        }
        var sets = Read();
        var canDropBounding = (sets.Effective & Mask(SetPcap)) != 0;
        var extra = (sets.Permitted | sets.Effective | sets.Inheritable | sets.Ambient) & ~keep;
        if (extra == 0 && (!canDropBounding || (sets.Bounding & ~keep) == 0))
        {
            return RestrictOutcome.NothingToDrop;
        }
        if (!canDropBounding)
        {
            error = $"the daemon holds {Describe(extra)} beyond what it needs but not cap_setpcap, so it cannot drop them for good: start it with only cap_sys_ptrace (systemd: CapabilityBoundingSet=CAP_SYS_PTRACE)";
            return RestrictOutcome.Failed;
        }
        var last = LastCapability();
        for (var cap = 0; cap <= last; cap++)
        {
            if ((keep & (1UL << cap)) == 0 && Libc.Prctl(Libc.PrCapbsetDrop, (nuint)cap, 0, 0, 0) != 0)
            {
                error = $"prctl(PR_CAPBSET_DROP, {Describe(1UL << cap)}) failed: {Errno.Name(Marshal.GetLastPInvokeError())}";
                return RestrictOutcome.Failed;
            }
        }
        var held = keep & sets.Permitted;
        if (!SetOwnSets(held, held, held, out error))
        {
            return RestrictOutcome.Failed;
        }
        // Ambient capabilities survive execve for a non-root daemon; for root the bounding set
        // alone decides what the new image gets, and ambient ones change nothing.
        Libc.Prctl(Libc.PrCapAmbient, Libc.PrCapAmbientClearAll, 0, 0, 0);
        for (var cap = 0; cap < 64; cap++)
        {
            if ((held & (1UL << cap)) != 0 && Libc.Prctl(Libc.PrCapAmbient, Libc.PrCapAmbientRaise, (nuint)cap, 0, 0) != 0)
            {
                error = $"prctl(PR_CAP_AMBIENT_RAISE, {Describe(1UL << cap)}) failed: {Errno.Name(Marshal.GetLastPInvokeError())}";
                return RestrictOutcome.Failed;
            }
        }
        if (Libc.Prctl(Libc.PrSetNoNewPrivs, 1, 0, 0, 0) != 0)
        {
            error = $"prctl(PR_SET_NO_NEW_PRIVS) failed: {Errno.Name(Marshal.GetLastPInvokeError())}";
            return RestrictOutcome.Failed;
        }
        error = Reexecute();
        return RestrictOutcome.Failed;
    }

    /// <summary>Marks the process not dumpable: no core file (which would hold memory read from
    /// other processes and the TLS key), and /proc/PID of the daemon owned by root.</summary>
    public static bool SetDumpable(bool dumpable) => Libc.Prctl(Libc.PrSetDumpable, dumpable ? 1u : 0u, 0, 0, 0) == 0;

    /// <summary>Whether the process may dump core (PR_GET_DUMPABLE).</summary>
    public static bool IsDumpable() => Libc.Prctl(Libc.PrGetDumpable, 0, 0, 0, 0) == 1;

    private static unsafe bool SetOwnSets(ulong effective, ulong permitted, ulong inheritable, out string? error)
    {
        var header = new CapHeader { Version = Libc.CapabilityVersion3, Pid = 0 };
        var data = stackalloc CapData[2];
        data[0] = new CapData { Effective = (uint)effective, Permitted = (uint)permitted, Inheritable = (uint)inheritable };
        data[1] = new CapData { Effective = (uint)(effective >> 32), Permitted = (uint)(permitted >> 32), Inheritable = (uint)(inheritable >> 32) };
        if (Libc.Capset(&header, data) != 0)
        {
            error = $"capset failed: {Errno.Name(Marshal.GetLastPInvokeError())}";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>execve of this process's own program (the target of /proc/self/exe, so the new
    /// image keeps its command name) with its own argv (from /proc/self/cmdline,
    /// exact whatever the host: apphost or dotnet pvmd.dll) and environment plus the marker.
    /// Returns the error when execve fails.</summary>
    private static unsafe string Reexecute()
    {
        var argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        var environment = Environment.GetEnvironmentVariables()
            .Cast<System.Collections.DictionaryEntry>()
            .Select(e => $"{e.Key}={e.Value}")
            .Append($"{MarkerVariable}=1")
            .ToArray();
        var pointers = new List<nint>();
        try
        {
            var argvBlock = stackalloc nint[argv.Length + 1];
            var envBlock = new nint[environment.Length + 1];
            for (var i = 0; i < argv.Length; i++)
            {
                argvBlock[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
                pointers.Add(argvBlock[i]);
            }
            argvBlock[argv.Length] = 0;
            for (var i = 0; i < environment.Length; i++)
            {
                envBlock[i] = Marshal.StringToCoTaskMemUTF8(environment[i]);
                pointers.Add(envBlock[i]);
            }
            var program = new FileInfo("/proc/self/exe").LinkTarget ?? "/proc/self/exe";
            fixed (nint* envp = envBlock)
            {
                Libc.Execve(program, argvBlock, envp);
            }
            return $"execve({program}) failed: {Errno.Name(Marshal.GetLastPInvokeError())}";
        }
        finally
        {
            pointers.ForEach(Marshal.FreeCoTaskMem);
        }
    }
}
