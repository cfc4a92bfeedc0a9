// The probe's scratch child is this executable re-run: it must not start the host.
if (args.Length > 0 && args[0] == Pvmd.Core.Probe.ScratchChild.Argument)
{
    return Pvmd.Core.Probe.ScratchChild.RunChildMode(args[1..]);
}

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddGrpc();
var app = builder.Build();
app.MapGrpcService<Pvmd.Server.Services.RemoteMemoryService>();
app.Run();
return 0;
