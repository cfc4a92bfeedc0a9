namespace Pvmd.Core.Procfs;

/// <summary>A process's memory map, in address order, and the questions the reader asks it.</summary>
public sealed class ProcMaps
{
    private readonly MemoryRegion[] _regions;

    public ProcMaps(IEnumerable<MemoryRegion> regions) => _regions = [.. regions.OrderBy(r => r.Start)];

    public IReadOnlyList<MemoryRegion> Regions => _regions;

    /// <summary>Reads /proc/PID/maps. Throws <see cref="TargetNotFoundException"/> when the
    /// process is gone and <see cref="AccessDeniedException"/> when it may not be inspected.</summary>
    public static ProcMaps Read(int pid, string procRoot = "/proc")
    {
        try
        {
            return new ProcMaps(File.ReadLines($"{procRoot}/{pid}/maps").Select(MemoryRegion.Parse).ToArray());
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TargetNotFoundException(pid);
        }
        catch (UnauthorizedAccessException)
        {
            throw new AccessDeniedException("EACCES", DenialCause.Kernel, $"the kernel refused to show the memory map of pid {pid}");
        }
        catch (IOException e) when (e.HResult == Interop.Errno.ESRCH)
        {
            throw new TargetNotFoundException(pid);
        }
    }

    /// <summary>The region holding the address, or null inside a hole.</summary>
    public MemoryRegion? Find(ulong address)
    {
        int low = 0, high = _regions.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var region = _regions[middle];
            if (address < region.Start)
            {
                high = middle - 1;
            }
            else if (address >= region.End)
            {
                low = middle + 1;
            }
            else
            {
                return region;
            }
        }
        return null;
    }

    /// <summary>The first region that starts at or after the address, or null.</summary>
    public MemoryRegion? NextAfter(ulong address) => _regions.FirstOrDefault(r => r.Start >= address);
}
