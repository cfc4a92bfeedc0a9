using System.Globalization;
using System.Reflection;
using System.Text;
using Pvmd.Core.Interop;

namespace Pvmd.Core.Host;

/// <summary>What the daemon knows about the machine it runs on.</summary>
public sealed record HostFacts(
    string Arch,
    string KernelRelease,
    int PageSize,
    string CpuModel,
    ulong Hwcap,
    ulong Hwcap2,
    string CpuFeatures,
    int YamaPtraceScope,
    bool HasCapSysPtrace,
    string DaemonVersion,
    string Emulation,
    string Hostname)
{
    /// <summary>CAP_SYS_PTRACE's bit in the capability sets.</summary>
    private const int CapSysPtraceBit = 19;

    private static readonly Lazy<HostFacts> s_current = new(Read);

    /// <summary>The facts of this host, read once (Yama and capabilities can be re-read with
    /// <see cref="ReadYamaPtraceScope"/> and <see cref="ReadHasCapSysPtrace"/>).</summary>
    public static HostFacts Current => s_current.Value;

    public static int PageSizeBytes { get; } = (int)Libc.Sysconf(Libc.ScPageSize);

    private static unsafe HostFacts Read()
    {
        var (machine, release, node) = Uname();
        var cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : [];
        return new HostFacts(
            machine,
            release,
            PageSizeBytes,
            ReadCpuModel(cpuinfo),
            Libc.Getauxval((nuint)Libc.AtHwcap),
            Libc.Getauxval((nuint)Libc.AtHwcap2),
            CpuInfoValue(cpuinfo, "flags", "Features", "cpu") ?? "",
            ReadYamaPtraceScope(),
            ReadHasCapSysPtrace(),
            typeof(HostFacts).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0",
            DetectEmulation(cpuinfo),
            node);
    }

    private static unsafe (string Machine, string Release, string Node) Uname()
    {
        // struct utsname on Linux: sysname, nodename, release, version, machine, domainname; 65 bytes each.
        const int FieldLength = 65;
        var buffer = stackalloc byte[FieldLength * 6];
        if (Libc.Uname(buffer) != 0)
        {
            return ("unknown", "unknown", "");
        }
        string Field(int index)
        {
            var span = new ReadOnlySpan<byte>(buffer + (index * FieldLength), FieldLength);
            var end = span.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
        }
        return (Field(4), Field(2), Field(1));
    }

    /// <summary>x86 names the model; arm64 gives implementer and part numbers; powerpc says "cpu".</summary>
    private static string ReadCpuModel(string[] cpuinfo)
    {
        var model = CpuInfoValue(cpuinfo, "model name", "cpu", "Model");
        if (model is not null)
        {
            return model;
        }
        var implementer = CpuInfoValue(cpuinfo, "CPU implementer");
        var part = CpuInfoValue(cpuinfo, "CPU part");
        return implementer is null ? "unknown" : $"implementer {implementer} part {part} variant {CpuInfoValue(cpuinfo, "CPU variant")} revision {CpuInfoValue(cpuinfo, "CPU revision")}";
    }

    private static string DetectEmulation(string[] cpuinfo)
    {
        var flags = CpuInfoValue(cpuinfo, "flags") ?? "";
        if (flags.Split(' ').Contains("hypervisor"))
        {
            return "hypervisor";
        }
        // qemu-system's virt and pseries machines name themselves in the device tree.
        foreach (var path in new[] { "/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible" })
        {
            try
            {
                var text = File.ReadAllText(path).Replace('\0', ' ').Trim();
                if (text.Contains("qemu", StringComparison.OrdinalIgnoreCase) || text.Contains("linux,dummy-virt", StringComparison.Ordinal))
                {
                    return $"qemu ({text})";
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        var platform = CpuInfoValue(cpuinfo, "platform", "machine");
        return platform?.Contains("qemu", StringComparison.OrdinalIgnoreCase) == true ? $"qemu ({platform})" : "";
    }

    private static string? CpuInfoValue(string[] cpuinfo, params string[] keys)
    {
        foreach (var key in keys)
        {
            foreach (var line in cpuinfo)
            {
                var colon = line.IndexOf(':');
                if (colon > 0 && line.AsSpan(0, colon).Trim().SequenceEqual(key))
                {
                    return line[(colon + 1)..].Trim();
                }
            }
        }
        return null;
    }

    /// <summary>/proc/sys/kernel/yama/ptrace_scope: 0 classic, 1 descendants only, 2 admin
    /// only, 3 no attach; -1 when Yama is not in the kernel.</summary>
    public static int ReadYamaPtraceScope()
    {
        try
        {
            return int.Parse(File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }

    /// <summary>Whether CAP_SYS_PTRACE is in the daemon's effective set (CapEff of /proc/self/status).</summary>
    public static bool ReadHasCapSysPtrace()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal))
            {
                var mask = ulong.Parse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                return (mask & (1UL << CapSysPtraceBit)) != 0;
            }
        }
        return false;
    }
}
