namespace Pvmd.Core.Probe;

/// <summary>Which transfer a sweep exercises. A case is always one of <see cref="Readv"/> or
/// <see cref="Writev"/>; <see cref="Both"/> only describes a sweep.</summary>
public enum ProbeOp
{
    Both,
    Readv,
    Writev,
}

/// <summary>What follows the break: a page that stays mapped but inaccessible, or a hole.</summary>
public enum GuardKind
{
    /// <summary>mprotect(PROT_NONE): no other thread can map anything there meanwhile.</summary>
    ProtNone,
    /// <summary>munmap: the classic setup, but other threads may map the hole, so the probe
    /// checks before the first case and after every case that it is still a hole.</summary>
    Munmap,
}

/// <summary>How the buffers are cut into iovecs.</summary>
public enum ProbeLayout
{
    /// <summary>One iovec on each side.</summary>
    Single,
    /// <summary>The short side's buffer in two iovecs split at B/2; the other side one iovec.</summary>
    Split,
    /// <summary>rr's four fixed regression layouts (src/test/vm_readv_writev.c), once per op.</summary>
    Rr,
}

/// <summary>Whose buffer runs into the guard page.</summary>
public enum ShortSide
{
    /// <summary>The daemon's own buffer.</summary>
    Local,
    /// <summary>The target's buffer.</summary>
    Remote,
}

/// <summary>What a case found, from best to worst news for a caller that trusts the count.</summary>
public enum CaseClass
{
    /// <summary>ret equals the count a correct kernel returns, and nothing changed outside [0, ret).</summary>
    Exact,
    /// <summary>ret is below that count and nothing changed beyond ret.</summary>
    ShortClean,
    /// <summary>Bytes beyond ret, or before the buffer, changed.</summary>
    ShortDirty,
    /// <summary>ret counts bytes that were not written (or could not have been).</summary>
    OverReport,
    /// <summary>The call failed and nothing changed.</summary>
    EfaultClean,
    /// <summary>The call failed, yet bytes changed.</summary>
    EfaultDirty,
}
