using System.CommandLine;
using Pvmd.Cli;
using Pvmd.Cli.Commands;
using Pvmd.Client;

namespace Pvmd.Tests.Cli;

/// <summary>What the command line accepts and refuses before anything is sent to a daemon.</summary>
public sealed class CommandLineTests
{
    private static (RootCommand Root, GlobalOptions Globals) Root()
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("test");
        globals.AddTo(root);
        root.Subcommands.Add(PlatformCommand.Create(globals));
        root.Subcommands.Add(PsCommand.Create(globals));
        root.Subcommands.Add(MapsCommand.Create(globals));
        root.Subcommands.Add(ReadCommand.Create(globals));
        root.Subcommands.Add(WriteCommand.Create(globals));
        root.Subcommands.Add(ProbeCommand.Create(globals));
        root.Subcommands.Add(CompareCommand.Create(globals));
        return (root, globals);
    }

    private static IReadOnlyList<string> Errors(params string[] args) =>
        [.. Root().Root.Parse(args).Errors.Select(e => e.Message)];

    [Theory]
    [InlineData("read", "--pid", "1", "--address", "0x1000", "--length", "4k")]
    [InlineData("read", "--pid", "1", "--range", "0x1000:16", "--range", "4096:0x10", "--format", "json")]
    [InlineData("write", "--pid", "1", "--address", "0x1000", "--hex", "90 90")]
    [InlineData("write", "--pid", "1", "--address", "0x1000", "--file", "-", "--verify", "--force")]
    [InlineData("probe", "--op", "readv", "--before", "0..16", "--after", "1", "--misalignment", "0..3", "--sparse-before", "256,4095", "--guard", "munmap", "--layout", "rr", "--short-side", "remote", "--json")]
    [InlineData("probe", "--pid", "7", "--remote-address", "0x7f0000000000")]
    [InlineData("compare", "--socket", "/a.sock", "--socket", "/b.sock", "--include-exact")]
    [InlineData("ps", "--name", "nginx*", "--uid", "0", "--cmdline", "conf")]
    [InlineData("maps", "--pid", "1", "--start-time", "12345", "--json")]
    [InlineData("platform", "--url", "http://127.0.0.1:7411", "--verbose")]
    public void Parse_ValidCommandLine_HasNoErrors(params string[] args) =>
        Assert.Empty(Errors(args));

    [Theory]
    [InlineData("read", "--pid", "1")]
    [InlineData("read", "--pid", "1", "--address", "0x1000")]
    [InlineData("read", "--pid", "1", "--address", "0x1000", "--length", "4", "--range", "0x1000:4")]
    [InlineData("read", "--pid", "0", "--address", "0x1000", "--length", "4")]
    [InlineData("read", "--pid", "1", "--address", "0xzz", "--length", "4")]
    [InlineData("read", "--pid", "1", "--range", "0x1000")]
    [InlineData("read", "--pid", "1", "--range", "0x1000:4", "--format", "xxd")]
    [InlineData("write", "--pid", "1", "--address", "0x1000")]
    [InlineData("write", "--pid", "1", "--address", "0x1000", "--hex", "90", "--file", "x")]
    [InlineData("write", "--pid", "1", "--address", "0x1000", "--hex", "909")]
    [InlineData("probe", "--before", "9..3")]
    [InlineData("probe", "--pid", "7")]
    [InlineData("probe", "--guard", "mprotect")]
    [InlineData("platform", "--url", "ftp://x")]
    [InlineData("maps")]
    public void Parse_InvalidCommandLine_HasErrors(params string[] args) =>
        Assert.NotEmpty(Errors(args));

    [Fact]
    public void Parse_ReadAddressAfterTheCommand_IsTheMemoryAddress()
    {
        var (root, globals) = Root();

        var result = root.Parse(["read", "--pid", "1", "--address", "0x1000", "--length", "4", "--url", "http://127.0.0.1:7411"]);

        Assert.Empty(result.Errors);
        Assert.Equal([new Uri("http://127.0.0.1:7411")], result.GetValue(globals.Address)!);
    }

    [Fact]
    public async Task WriteData_FromFile_IsTheFilesBytes()
    {
        // Regression: an absent --hex yielded an empty array, not null, so --file was ignored.
        var path = Path.GetTempFileName();
        await File.WriteAllBytesAsync(path, [0x58, 0x59, 0x5a]);
        try
        {
            var command = WriteCommand.Create(new GlobalOptions());
            var hex = (Option<byte[]>)command.Options.Single(o => o.Name == "--hex");
            var file = (Option<string?>)command.Options.Single(o => o.Name == "--file");
            var parsed = command.Parse(["--pid", "1", "--address", "0x1000", "--file", path]);

            var data = await WriteCommand.DataAsync(parsed, hex, file, default);

            Assert.Equal([0x58, 0x59, 0x5a], data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task WriteData_FromHex_IsTheHexBytes()
    {
        var command = WriteCommand.Create(new GlobalOptions());
        var hex = (Option<byte[]>)command.Options.Single(o => o.Name == "--hex");
        var file = (Option<string?>)command.Options.Single(o => o.Name == "--file");
        var parsed = command.Parse(["--pid", "1", "--address", "0x1000", "--hex", "90cc"]);

        Assert.Equal([0x90, 0xcc], await WriteCommand.DataAsync(parsed, hex, file, default));
    }

    [Fact]
    public void ResolveEndpoints_NothingGiven_UsesTheEnvironmentThenTheDefault()
    {
        Assert.Equal("/env.sock", GlobalOptions.ResolveEndpoints([], [], "/env.sock").Single().SocketPath);
        Assert.Equal(PvmdClientOptions.DefaultSocketPath, GlobalOptions.ResolveEndpoints([], [], null).Single().SocketPath);
        Assert.Equal(PvmdClientOptions.DefaultSocketPath, GlobalOptions.ResolveEndpoints([], [], " ").Single().SocketPath);
    }

    [Fact]
    public void ResolveEndpoints_Given_IgnoresTheEnvironment()
    {
        var endpoints = GlobalOptions.ResolveEndpoints(["/a.sock"], [new Uri("http://h:1")], "/env.sock");

        Assert.Equal(["unix:/a.sock", "http://h:1/"], endpoints.Select(e => e.Endpoint));
    }

    [Fact]
    public async Task InvokeAsync_ParseError_IsUsage()
    {
        var (root, _) = Root();

        Assert.Equal((int)ExitCode.Usage, await CommandRunner.InvokeAsync(root, ["read", "--pid", "1"]));
    }

    [Fact]
    public async Task InvokeAsync_NoDaemon_IsUnavailable()
    {
        var (root, _) = Root();

        Assert.Equal((int)ExitCode.Unavailable, await CommandRunner.InvokeAsync(root, ["platform", "--socket", "/nonexistent/pvmd.sock"]));
    }

    [Fact]
    public async Task InvokeAsync_TwoDaemonsForAOneDaemonCommand_IsUsage()
    {
        var (root, _) = Root();

        Assert.Equal((int)ExitCode.Usage, await CommandRunner.InvokeAsync(root, ["platform", "--socket", "/a.sock", "--socket", "/b.sock"]));
    }

    [Fact]
    public async Task InvokeAsync_CompareWithOneDaemon_IsUsage()
    {
        var (root, _) = Root();

        Assert.Equal((int)ExitCode.Usage, await CommandRunner.InvokeAsync(root, ["compare", "--socket", "/a.sock"]));
    }
}
