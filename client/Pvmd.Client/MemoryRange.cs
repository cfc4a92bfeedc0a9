namespace Pvmd.Client;

/// <summary>A range of a target's address space.</summary>
/// <param name="Address">The first byte's address.</param>
/// <param name="Length">The number of bytes (1 .. the daemon's maximum).</param>
public readonly record struct MemoryRange(ulong Address, ulong Length)
{
    /// <summary>The contract's form of this range.</summary>
    /// <returns>A new <see cref="V1.Range"/> message.</returns>
    public V1.Range ToProto() => new() { Address = Address, Length = Length };
}
