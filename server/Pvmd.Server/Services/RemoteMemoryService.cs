using Grpc.Core;
using Pvmd.V1;

namespace Pvmd.Server.Services;

/// <summary>The RemoteMemory service: maps the contract onto Pvmd.Core. Each RPC family lives
/// in its own part (RemoteMemoryService.*.cs); errors are mapped once, by the interceptor.</summary>
public sealed partial class RemoteMemoryService : RemoteMemory.RemoteMemoryBase
{
}
