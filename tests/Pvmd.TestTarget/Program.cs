// pvmd-test-target: a process whose memory the tests know byte for byte.
//
//   pvmd-test-target [--pattern-pages N] [--bulk-mib N] [--tag TEXT]
//
// It maps the regions described in Shared/TargetLayout.cs, fills them from
// Shared/TestPattern.cs, prints the layout as ONE JSON line on stdout, then serves one
// command per stdin line, answering each with one line:
//   unmap <region>         munmap the whole region        -> "ok"
//   dump <address> <len>   hex of its own memory           -> "<lowercase hex>"
//   ping                                                   -> "pong"
//   exit                   exits with code 0
// Addresses are "0x..." hex or decimal. A failed command answers "error <why>".
// It exits when stdin closes, so it never outlives the test that started it.
// --tag only makes its command line unique, for ListProcesses tests.
// --bulk-mib adds a "bulk" region of N MiB (TestPattern.BulkSeed), for the benchmarks.
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pvmd.TestTarget;

var patternPages = 4;
var bulkMib = 0;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--pattern-pages" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var pages) && pages > 0:
            patternPages = pages;
            i++;
            break;
        case "--bulk-mib" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var mib) && mib > 0:
            bulkMib = mib;
            i++;
            break;
        case "--tag" when i + 1 < args.Length:
            i++;
            break;
        default:
            Console.Error.WriteLine($"pvmd-test-target: unknown or invalid argument '{args[i]}'");
            return 2;
    }
}

var memory = new TargetMemory(Environment.SystemPageSize);
TargetLayout layout;
try
{
    layout = memory.Build(patternPages, bulkMib);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"pvmd-test-target: {e.Message}");
    return 1;
}
Console.Out.WriteLine(JsonSerializer.Serialize(layout, TargetLayoutJson.Default.TargetLayout));
Console.Out.Flush();

while (Console.In.ReadLine() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 0)
    {
        continue;
    }
    if (words is ["exit"])
    {
        return 0;
    }
    string answer;
    try
    {
        answer = words switch
        {
            ["ping"] => "pong",
            ["unmap", var name] => memory.Unmap(name),
            ["dump", var address, var length] => memory.Dump(
                TargetRegion.ParseAddress(address),
                int.Parse(length, NumberStyles.None, CultureInfo.InvariantCulture)),
            _ => $"error unknown command '{line}'",
        };
    }
    catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException)
    {
        answer = $"error {e.Message}";
    }
    Console.Out.WriteLine(answer);
    Console.Out.Flush();
}
return 0;

/// <summary>The mapped regions, and which parts of them the target can read itself.</summary>
internal sealed class TargetMemory(int pageSize)
{
    // Regions are placed from this hint upwards, far below where the kernel puts mappings
    // that ask for no address (it searches top-down from below the stack). So nothing the
    // runtime maps later falls into the one-page hole and turns it back into memory.
    private const ulong PlacementHint = 0x10_0000_0000;
    private const ulong RegionGap = 1 << 20;

    private readonly Dictionary<string, (ulong Start, ulong Length)> _regions = [];
    private readonly List<(string Region, ulong Start, ulong End)> _readable = [];
    private ulong _next = PlacementHint;

    private ulong Page => (ulong)pageSize;

    public TargetLayout Build(int patternPages, int bulkMib)
    {
        var pattern = Map("pattern", (ulong)patternPages * Page);
        Fill(pattern, (ulong)patternPages * Page, TestPattern.PatternSeed);
        Readable("pattern", pattern, (ulong)patternPages * Page);

        var hole = Map("hole", 3 * Page);
        Fill(hole, 3 * Page, TestPattern.HoleSeed);
        Check(Native.Munmap((nint)(hole + Page), (nuint)Page), "munmap the hole");
        Readable("hole", hole, Page);
        Readable("hole", hole + (2 * Page), Page);

        var protNone = Map("protnone", 2 * Page);
        Fill(protNone, Page, TestPattern.ProtNoneSeed);
        Check(Native.Mprotect((nint)(protNone + Page), (nuint)Page, Native.ProtNone), "mprotect PROT_NONE");
        Readable("protnone", protNone, Page);

        var readOnly = Map("readonly", Page);
        Fill(readOnly, Page, TestPattern.ReadOnlySeed);
        Check(Native.Mprotect((nint)readOnly, (nuint)Page, Native.ProtRead | Native.ProtExec), "mprotect PROT_READ|PROT_EXEC");
        Readable("readonly", readOnly, Page);

        var scratch = Map("scratch", Page);
        Readable("scratch", scratch, Page);

        if (bulkMib > 0)
        {
            var length = (ulong)bulkMib << 20;
            var bulk = Map("bulk", length);
            // Both cores fill it: a 1 GiB region is ready in about a second, not three.
            Parallel.For(0, bulkMib, mib => Fill(bulk + ((ulong)mib << 20), 1 << 20, TestPattern.BulkSeed, (ulong)mib << 20));
            Readable("bulk", bulk, length);
        }

        return new TargetLayout(
            Environment.ProcessId,
            pageSize,
            Region("pattern"),
            Region("hole"),
            Region("protnone"),
            Region("readonly"),
            Region("scratch"))
        {
            Bulk = bulkMib > 0 ? Region("bulk") : null,
        };
    }

    public string Unmap(string name)
    {
        if (!_regions.Remove(name, out var region))
        {
            return $"error no region '{name}'";
        }
        _readable.RemoveAll(r => r.Region == name);
        Check(Native.Munmap((nint)region.Start, (nuint)region.Length), $"munmap {name}");
        return "ok";
    }

    /// <summary>Copies with plain loads, so a test sees the target's own view of its memory,
    /// not another process_vm_readv. Only readable pages of live regions may be dumped.</summary>
    public unsafe string Dump(ulong address, int length)
    {
        if (length <= 0 || !_readable.Exists(r => address >= r.Start && address + (ulong)length <= r.End))
        {
            return $"error {TargetRegion.FormatAddress(address)}+{length} is not inside one readable page range of a region";
        }
        return Convert.ToHexStringLower(new ReadOnlySpan<byte>((void*)address, length));
    }

    private ulong Map(string name, ulong length)
    {
        var address = Native.Mmap((nint)_next, (nuint)length, Native.ProtRead | Native.ProtWrite, Native.MapPrivate | Native.MapAnonymous, -1, 0);
        if (address == Native.MapFailed)
        {
            throw new InvalidOperationException($"mmap of {name} ({length} bytes) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        var start = (ulong)address;
        _regions[name] = (start, length);
        _next = Math.Max(_next, start + length) + RegionGap;
        return start;
    }

    private static unsafe void Fill(ulong address, ulong length, uint seed, ulong offset = 0) =>
        TestPattern.Fill(new Span<byte>((void*)address, checked((int)length)), seed, offset);

    private void Readable(string name, ulong start, ulong length) => _readable.Add((name, start, start + length));

    private TargetRegion Region(string name) =>
        new(TargetRegion.FormatAddress(_regions[name].Start), _regions[name].Length);

    private static void Check(int result, string what)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{what} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
