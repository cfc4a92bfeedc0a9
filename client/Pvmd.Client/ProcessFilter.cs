using Pvmd.V1;

namespace Pvmd.Client;

/// <summary>Which processes <see cref="PvmdClient.ListProcessesAsync"/> returns; every
/// criterion given must match.</summary>
/// <param name="Name">Shell-style glob on the command name (comm), or null for any.</param>
/// <param name="Uid">Only processes of this user id, or null for any.</param>
/// <param name="CommandLineContains">A substring of the command line, or null for any.</param>
public sealed record ProcessFilter(string? Name = null, uint? Uid = null, string? CommandLineContains = null)
{
    /// <summary>The contract's form of this filter.</summary>
    /// <returns>A new <see cref="ListProcessesRequest"/>.</returns>
    public ListProcessesRequest ToProto()
    {
        var request = new ListProcessesRequest
        {
            Name = Name ?? "",
            CmdlineContains = CommandLineContains ?? "",
        };
        if (Uid is { } uid)
        {
            request.Uid = uid;
        }

        return request;
    }
}
