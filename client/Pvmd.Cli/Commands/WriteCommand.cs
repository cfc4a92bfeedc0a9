using System.CommandLine;
using System.Globalization;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Parsing;
using Pvmd.Client;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl write --pid N --address A (--hex HEX | --file F) [--start-time T] [--verify]
/// [--force] [--json]: bytes into a target.</summary>
internal static class WriteCommand
{
    private const string Help = """
        Write bytes into a target with process_vm_writev (or, with --force, through /proc/PID/mem,
        which writes through page protection as debuggers do for breakpoints). Prints the count
        the kernel returned and where writing stopped; with --verify the daemon snapshots the
        target before, reads it back after, and reports what really changed.
        JSON (--json), one object: {address, length, force, syscallReturned, stopAddress,
        stopReason, check: {bytesChanged, firstChangedOffset, firstDifferingOffset,
        changedBeyondReturned, changedBeyondReturnedCount, unwrittenBelowReturned, mismatch} or
        null}; offsets are -1 when none.
        Exit codes: 0 every byte written, 8 the check found a mismatch, 9 the write stopped short.
        """;

    public static Command Create(GlobalOptions globals)
    {
        var pid = OptionFactory.Pid(required: true);
        var startTime = OptionFactory.StartTime();
        var address = OptionFactory.Address("--address", "Where the data goes (0x-prefixed hex or decimal).");
        address.Required = true;
        var hex = OptionFactory.HexBytes("--hex", "The bytes as hex digits ('90 90 cc' or 9090cc).");
        var file = new Option<string?>("--file") { Description = "Read the bytes from this file ('-' for stdin).", HelpName = "PATH" };
        var verify = new Option<bool>("--verify") { Description = "Report what really changed in the target (exit code 8 on a mismatch)." };
        var force = new Option<bool>("--force") { Description = "Write through /proc/PID/mem, ignoring page protection (read-only text)." };
        var json = new Option<bool>("--json") { Description = "One JSON object (see above)." };

        var command = new Command("write", Help) { pid, startTime, address, hex, file, verify, force, json };
        command.Validators.Add(result =>
        {
            if ((result.GetResult(hex) is null) == (result.GetResult(file) is null))
            {
                result.AddError("give exactly one of --hex and --file");
            }
        });

        CommandRunner.SetBody(command, globals, async context =>
        {
            var target = new TargetProcess(context.GetValue(pid)!.Value, context.GetValue(startTime));
            var at = context.GetValue(address)!.Value;
            var data = await DataAsync(context.ParseResult, hex, file, context.CancellationToken).ConfigureAwait(false);
            if (data.Length == 0)
            {
                throw new UsageException("there is nothing to write (the file is empty)");
            }

            var isForced = context.GetValue(force);
            var response = await context.Connect()
                .WriteAsync(target, at, data, context.GetValue(verify), isForced, context.CancellationToken)
                .ConfigureAwait(false);

            if (context.GetValue(json))
            {
                context.Out.WriteLine(JsonOutput.ToLine(w => JsonOutput.WriteWrite(w, at, data.Length, isForced, response)));
            }
            else
            {
                var call = isForced ? "pwrite on /proc/PID/mem" : "process_vm_writev";
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {response.SyscallReturned} of {data.Length} bytes at {Names.Hex(at)} ({call} returned {response.SyscallReturned})"));
                if (response.HasStopAddress)
                {
                    context.Out.WriteLine($"stopped at {Names.Hex(response.StopAddress)} ({Names.Of(response.StopReason)})");
                }

                if (response.Check is { } check)
                {
                    context.Out.WriteLine($"check: {CheckText.Describe(check)}: {CheckText.Verdict(check.Mismatch)}");
                }
            }

            return response.Check?.Mismatch == true ? ExitCode.Mismatch
                : response.SyscallReturned < (ulong)data.Length ? ExitCode.Incomplete
                : ExitCode.Ok;
        });
        return command;
    }

    /// <summary>The bytes to write: from --hex when it was given, else from --file.</summary>
    internal static async Task<byte[]> DataAsync(ParseResult parseResult, Option<byte[]> hex, Option<string?> file, CancellationToken cancellationToken) =>
        // An array option that was not given still yields an (empty) array: ask whether it was given.
        parseResult.GetResult(hex) is not null
            ? parseResult.GetValue(hex) ?? []
            : await ReadFileAsync(parseResult.GetValue(file)!, cancellationToken).ConfigureAwait(false);

    private static async Task<byte[]> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        if (path == "-")
        {
            using var buffer = new MemoryStream();
            await using var stdin = Console.OpenStandardInput();
            await stdin.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }

        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--file: cannot read '{path}': {e.Message}");
        }
    }
}
