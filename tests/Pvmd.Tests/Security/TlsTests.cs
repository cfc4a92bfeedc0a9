using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Pvmd.Tests.Infrastructure;
using Pvmd.V1;
using static Pvmd.Tests.Security.PolicyFixture;

namespace Pvmd.Tests.Security;

/// <summary>A daemon on loopback TCP with mutual TLS (certificates made for the run), the
/// Unix socket beside it, and a policy with rules for certificate subjects.</summary>
public sealed class TlsFixture : IAsyncLifetime
{
    public TestCertificates Pki { get; } = new();

    public DaemonFixture Daemon { get; private set; } = null!;

    public int Port { get; } = FreePort();

    public TargetProcess Target { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var policy = Path.Combine(Pki.Directory.FullName, "policy.yaml");
        await File.WriteAllTextAsync(policy, Rules(
            "tester", "{ subject: \"CN=tester, O=pvmd tests\", transport: tls }", "{ comm: \"pvmd-test-*\" }", "read, regions, platform, write",
            "others", "{ subject: \"CN=*, O=pvmd tests\" }", "", "platform",
            "root", "{ uid: 0, transport: unix }", "any", "all"));
        Daemon = await DaemonFixture.StartAsync(["--listen", $"127.0.0.1:{Port}", "--policy", policy, .. Pki.DaemonArguments]);
        Target = TargetProcess.Start();
    }

    public async Task DisposeAsync()
    {
        Target.Dispose();
        await Daemon.DisposeAsync();
        Pki.Dispose();
    }

    /// <summary>A channel to the TCP endpoint that presents <paramref name="certificate"/>
    /// (none when null) and trusts only the test CA for the server.</summary>
    public GrpcChannel Channel(X509Certificate2? certificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
                RemoteCertificateValidationCallback = (_, server, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(Pki.Authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return server is X509Certificate2 s && chain.Build(s);
                },
            },
        };
        return GrpcChannel.ForAddress($"https://127.0.0.1:{Port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>TCP callers: mutual TLS decides who connects at all, the certificate subject is
/// the identity the policy matches, and nothing else gets through.</summary>
public sealed class TlsTests(TlsFixture fixture) : IClassFixture<TlsFixture>
{
    private Task<ReadOutcome> ReadAsync(RemoteMemory.RemoteMemoryClient client) =>
        ReadOutcome.ReadAsync(client, new ReadRemoteRequest { Target = fixture.Target.Target, Ranges = { new V1.Range { Address = fixture.Target.Pattern.Start, Length = 4096 } } });

    [Fact]
    public async Task ClientCertificateFromTheCa_IsTheCallerIdentity()
    {
        using var channel = fixture.Channel(fixture.Pki.Client);
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        var outcome = await ReadAsync(client);

        Expect.Chunks(outcome[0], fixture.Target.Pattern.Start, 4096, fixture.Target.Pattern, Pvmd.TestTarget.TestPattern.PatternSeed);
        await client.GetPlatformAsync(new GetPlatformRequest());
    }

    [Fact]
    public async Task AnotherSubject_GetsOnlyItsOwnRules()
    {
        using var channel = fixture.Channel(fixture.Pki.OtherClient);
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        await client.GetPlatformAsync(new GetPlatformRequest());
        var info = await DeniedAsync(() => ReadAsync(client), "no-rule", "read");
        Assert.Contains("certificate 'CN=other, O=pvmd tests'", info.Metadata["detail"]);
        Assert.Contains("\"subject\":\"CN=other, O=pvmd tests\"", File.ReadAllText(fixture.Daemon.AuditLogPath));
    }

    [Fact]
    public async Task TlsCaller_IsNotARootCaller()
    {
        using var channel = fixture.Channel(fixture.Pki.Client);
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        // The tester's rule names test targets only; pid 1 is root's, and root's rule needs the socket.
        await DeniedAsync(() => client.ListRegionsAsync(new ListRegionsRequest { Target = new Target { Pid = 1 } }).ResponseAsync, "no-rule", "regions");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("rogue")]
    [InlineData("server-usage")]
    public async Task CertificateNotFromTheCaOrNotForClients_CannotConnect(string which)
    {
        var certificate = which switch
        {
            "rogue" => fixture.Pki.RogueClient,
            "server-usage" => fixture.Pki.ServerOnlyClient,
            _ => null,
        };
        using var channel = fixture.Channel(certificate);
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        // The handshake fails: the client reports it as UNAVAILABLE, or INTERNAL when the
        // server's alert arrives after the request was sent. Never an answer of the daemon.
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.Null(error.GetRpcStatus());
    }

    [Fact]
    public async Task PlainHttpToTheTlsPort_IsRefused()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{fixture.Port}");
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetPlatformAsync(new GetPlatformRequest(), deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);

        Assert.NotEqual(StatusCode.OK, error.StatusCode);
    }

    [Fact]
    public async Task UnixSocket_StillServesBesideTcp()
    {
        var platform = await fixture.Daemon.Client.GetPlatformAsync(new GetPlatformRequest());

        Assert.NotEmpty(platform.Arch);
        Assert.Contains($"TLS on 127.0.0.1:{fixture.Port}: client certificates required, signed by CN=pvmd test CA", await fixture.Daemon.LogWithAsync("TLS on"));
    }
}

/// <summary>--insecure: plain TCP on loopback, loud, and identified by nothing.</summary>
public sealed class InsecureTcpTests
{
    [Fact]
    public async Task Insecure_ServesOnlyWhatTheInsecureRulesGrant_AndWarnsOnEveryCall()
    {
        var port = TlsFixture.FreePort();
        var directory = Directory.CreateTempSubdirectory("pvmd-insecure-");
        try
        {
            var policy = Path.Combine(directory.FullName, "policy.yaml");
            await File.WriteAllTextAsync(policy, Rules("loopback", "{ transport: insecure }", "", "platform"));
            await using var daemon = await DaemonFixture.StartAsync(["--listen", $"127.0.0.1:{port}", "--insecure", "--policy", policy]);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new RemoteMemory.RemoteMemoryClient(channel);

            await client.GetPlatformAsync(new GetPlatformRequest());
            await client.GetPlatformAsync(new GetPlatformRequest());
            await DeniedAsync(() => client.ListProcessesAsync(new ListProcessesRequest()).ResponseAsync, "no-rule", "processes");

            Assert.Contains($"INSECURE: 127.0.0.1:{port} accepts plain TCP", await daemon.LogWithAsync("accepts plain TCP"));
            // One warning per call; the console logger writes them a moment after the calls end.
            int Warnings() => daemon.Log.Split('\n').Count(l => l.Contains("INSECURE: /pvmd.v1.RemoteMemory/", StringComparison.Ordinal));
            for (var i = 0; i < 100 && Warnings() < 3; i++)
            {
                await Task.Delay(50);
            }
            Assert.True(Warnings() >= 3, daemon.Log);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Insecure_WithTheDefaultPolicy_GetsNothing()
    {
        var port = TlsFixture.FreePort();
        await using var daemon = await DaemonFixture.StartAsync(["--listen", $"127.0.0.1:{port}", "--insecure"]);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new RemoteMemory.RemoteMemoryClient(channel);

        await DeniedAsync(() => client.GetPlatformAsync(new GetPlatformRequest()).ResponseAsync, "no-rule", "platform");
        Assert.Contains("TCP callers are denied everything by the built-in default policy", await daemon.LogWithAsync("TCP callers are denied"));
    }
}
