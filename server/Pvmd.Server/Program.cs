var builder = WebApplication.CreateBuilder(args);
builder.Services.AddGrpc();
var app = builder.Build();
app.MapGrpcService<Pvmd.Server.Services.RemoteMemoryService>();
app.Run();
