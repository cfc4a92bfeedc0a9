using Pvmd.Client;

namespace Pvmd.Tests.Client;

public sealed class PvmdClientOptionsTests
{
    [Fact]
    public void Validate_SocketOnly_Passes() => PvmdClientOptions.ForSocket("/tmp/p.sock").Validate();

    [Theory]
    [InlineData("http://127.0.0.1:7411")]
    [InlineData("https://pvmd.example:7411")]
    public void Validate_HttpOrHttpsAddress_Passes(string url) => PvmdClientOptions.ForAddress(new Uri(url)).Validate();

    [Fact]
    public void Validate_NeitherSocketNorAddress_Throws() =>
        Assert.Throws<ArgumentException>(() => new PvmdClientOptions().Validate());

    [Fact]
    public void Validate_BothSocketAndAddress_Throws() =>
        Assert.Throws<ArgumentException>(() => new PvmdClientOptions { SocketPath = "/tmp/p.sock", Address = new Uri("http://localhost") }.Validate());

    [Fact]
    public void Validate_OtherScheme_Throws() =>
        Assert.Throws<ArgumentException>(() => PvmdClientOptions.ForAddress(new Uri("ftp://localhost")).Validate());

    [Fact]
    public void Endpoint_NamesTheSocketOrTheUrl()
    {
        Assert.Equal("unix:/tmp/p.sock", PvmdClientOptions.ForSocket("/tmp/p.sock").Endpoint);
        Assert.Equal("http://localhost:7411/", PvmdClientOptions.ForAddress(new Uri("http://localhost:7411")).Endpoint);
    }

    [Fact]
    public async Task Constructor_ValidOptions_MakesNoConnection()
    {
        // A socket that does not exist: creating (and disposing) the client must not touch it.
        await using var client = new PvmdClient(PvmdClientOptions.ForSocket("/nonexistent/pvmd.sock"));

        Assert.Equal("/nonexistent/pvmd.sock", client.Options!.SocketPath);
    }

    [Fact]
    public async Task Call_SocketThatDoesNotExist_IsDaemonUnavailableNamingThePath()
    {
        await using var client = new PvmdClient(PvmdClientOptions.ForSocket("/nonexistent/pvmd.sock"));

        var error = await Assert.ThrowsAsync<DaemonUnavailableException>(() => client.GetPlatformAsync());

        Assert.Contains("/nonexistent/pvmd.sock does not exist", error.Message, StringComparison.Ordinal);
    }
}
