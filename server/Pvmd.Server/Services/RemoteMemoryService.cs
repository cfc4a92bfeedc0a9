using Grpc.Core;
using Microsoft.Extensions.Options;
using Pvmd.Core.Host;
using Pvmd.Core.Memory;
using Pvmd.Core.Procfs;
using Pvmd.Server.Hosting;
using Pvmd.Server.LocalPath;
using Pvmd.Server.Telemetry;
using Pvmd.V1;

namespace Pvmd.Server.Services;

/// <summary>The RemoteMemory service: maps the contract onto Pvmd.Core. Each RPC family lives
/// in its own part (RemoteMemoryService.*.cs); errors are mapped once, by the interceptor.</summary>
public sealed partial class RemoteMemoryService(IOptions<PvmdOptions> options, PvmdInstrumentation telemetry, LocalPathListener localPath, LocalPathTickets tickets) : RemoteMemory.RemoteMemoryBase
{
    private readonly TransferLimits _limits = options.Value.Limits;
    private readonly FaultInjection? _faults = options.Value.FaultInjection.ToEngine();
    private readonly PvmdInstrumentation _telemetry = telemetry;

    public override Task<V1.Platform> GetPlatform(GetPlatformRequest request, ServerCallContext context) =>
        Task.FromResult(ProtoMapping.ToProto(HostFacts.Current with
        {
            // Capabilities and Yama can change while the daemon runs; the rest cannot.
            YamaPtraceScope = HostFacts.ReadYamaPtraceScope(),
            HasCapSysPtrace = HostFacts.ReadHasCapSysPtrace(),
        }));

    public override Task<ListRegionsResponse> ListRegions(ListRegionsRequest request, ServerCallContext context)
    {
        using var target = ProtoMapping.Open(request.Target, context);
        var response = new ListRegionsResponse();
        foreach (var region in ProcMaps.Read(target.Pid).Regions)
        {
            response.Regions.Add(new Region
            {
                Start = region.Start,
                End = region.End,
                Permissions = region.Permissions,
                Offset = region.Offset,
                Device = region.Device,
                Inode = region.Inode,
                Path = region.Path,
            });
        }
        // The map must belong to the pinned process, not to a successor with its pid.
        if (!target.IsAlive())
        {
            throw new Core.TargetNotFoundException(target.Pid);
        }
        return Task.FromResult(response);
    }

    public override Task<ListProcessesResponse> ListProcesses(ListProcessesRequest request, ServerCallContext context)
    {
        var filter = new ProcessFilter(request.Name, request.HasUid ? request.Uid : null, request.CmdlineContains);
        var response = new ListProcessesResponse();
        foreach (var process in ProcessTable.List(filter))
        {
            response.Processes.Add(new ProcessInfo
            {
                Pid = process.Pid,
                Ppid = process.ParentPid,
                Uid = process.Uid,
                Name = process.Name,
                Cmdline = process.CommandLine,
                StartTime = process.StartTime,
                Executable = process.Executable,
            });
        }
        return Task.FromResult(response);
    }
}
