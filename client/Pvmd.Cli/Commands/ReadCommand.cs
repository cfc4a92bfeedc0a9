using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pvmd.Cli.Formatting;
using Pvmd.Cli.Parsing;
using Pvmd.Client;

namespace Pvmd.Cli.Commands;

/// <summary>pvmctl read --pid N (--address A --length L | --range A:L ...) [--start-time T]
/// [--verify] [--format hex|raw|json]: a target's memory, holes explicit.</summary>
internal static class ReadCommand
{
    private const string Help = """
        Read a target's memory with process_vm_readv. Unreadable stretches are never zero-filled:
        every readable byte around them is returned and each hole is reported with its reason.
        Formats:
          hex   an xxd-like dump (address, 16 bytes a line, ASCII); a hole is a line
                '--- 0xADDRESS N bytes unreadable (REASON) ---'. With several ranges each starts
                with '=== range I: 0xADDRESS N bytes ==='; with --verify each ends with
                '--- check: ...: ok|MISMATCH ---'.
          raw   the readable bytes only, to stdout, in request order; holes (and failed checks)
                are reported on stderr, and the exit code is 9 if there was any hole, since the
                bytes after a hole are not at their offset.
          json  one object: {pid, startTime, verify, ranges: [{index, address, length, bytesRead,
                syscallReturned, unreadableBytes, stopAddress, stopReason, holes: [{address,
                length, reason}], segments: [{address, length, data (base64)}], check: {returned,
                actual, changedBeyondReturned, unwrittenBelowReturned, firstModifiedOffset,
                lastModifiedOffset, mismatch} or null}], complete, mismatch}. Addresses are
                "0x..." strings; reasons: unmapped, protection, fault, process-gone.
        Exit codes: 0 done (holes in hex/json are part of the answer), 8 a check found a
        mismatch, 9 raw output with holes.
        """;

    public static Command Create(GlobalOptions globals)
    {
        var pid = OptionFactory.Pid(required: true);
        var startTime = OptionFactory.StartTime();
        var address = OptionFactory.Address("--address", "The first address (0x-prefixed hex or decimal).");
        var length = OptionFactory.Length("--length", "The number of bytes (hex or decimal, optional k/m/g suffix).");
        length.Aliases.Add("-l");
        var ranges = OptionFactory.Ranges("--range", "A range ADDRESS:LENGTH; repeat for a scatter-gather read in one round trip.");
        ranges.Aliases.Add("-r");
        var verify = new Option<bool>("--verify")
        {
            Description = "Ask the daemon to check the kernel's count against the bytes it really wrote (exit code 8 on a mismatch).",
        };
        var format = new Option<string>("--format", "-f") { Description = "Output format.", DefaultValueFactory = _ => "hex" };
        format.AcceptOnlyFromAmong("hex", "raw", "json");

        var command = new Command("read", Help) { pid, startTime, address, length, ranges, verify, format };
        command.Validators.Add(result =>
        {
            var hasAddress = result.GetResult(address) is not null;
            var hasLength = result.GetResult(length) is not null;
            var hasRanges = result.GetResult(ranges) is not null;
            if (hasRanges && (hasAddress || hasLength))
            {
                result.AddError("give either --address/--length or --range, not both");
            }
            else if (!hasRanges && !(hasAddress && hasLength))
            {
                result.AddError("give --address and --length, or one or more --range");
            }
        });

        CommandRunner.SetBody(command, globals, context =>
        {
            var target = new TargetProcess(context.GetValue(pid)!.Value, context.GetValue(startTime));
            IReadOnlyList<MemoryRange> requested = context.ParseResult.GetValue(ranges) is { Length: > 0 } list
                ? list
                : [new MemoryRange(context.GetValue(address)!.Value, context.GetValue(length)!.Value)];
            if (requested.Any(r => !ValueParser.FitsAddressSpace(r.Address, r.Length)))
            {
                throw new UsageException("the range runs past the end of the address space");
            }

            var read = new Read(context, target, requested, context.GetValue(verify));
            return context.GetValue(format) switch
            {
                "raw" => read.RawAsync(),
                "json" => read.JsonAsync(),
                _ => read.HexAsync(),
            };
        });
        return command;
    }

    private sealed class Read(CommandContext context, TargetProcess target, IReadOnlyList<MemoryRange> ranges, bool verify)
    {
        private IAsyncEnumerable<V1.ReadRemoteResponse> Stream() =>
            context.Connect().ReadStreamAsync(target, ranges, verify, context.CancellationToken);

        public async Task<ExitCode> HexAsync()
        {
            var assembler = new ReadResultAssembler(ranges.Count);
            var dump = new HexDumpWriter(context.Out);
            var mismatch = false;
            await foreach (var response in Stream().ConfigureAwait(false))
            {
                foreach (var range in assembler.Add(response))
                {
                    if (ranges.Count > 1)
                    {
                        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"=== range {range.Index}: {Names.Hex(range.Address)} {range.Length} bytes ==="));
                    }

                    dump.WriteRange(range);
                    if (range.Result.Check is { } check)
                    {
                        context.Out.WriteLine($"--- check: {CheckText.Describe(check)}: {CheckText.Verdict(check.Mismatch)} ---");
                    }

                    mismatch |= range.HasMismatch;
                }
            }

            assembler.Complete();
            return mismatch ? ExitCode.Mismatch : ExitCode.Ok;
        }

        public async Task<ExitCode> RawAsync()
        {
            await context.Out.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            var writer = new RawReadWriter(context.RawOut, context.Error, ranges.Count);
            await foreach (var response in Stream().ConfigureAwait(false))
            {
                await writer.AddAsync(response, context.CancellationToken).ConfigureAwait(false);
            }

            writer.Complete();
            await context.RawOut.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            return writer.HadMismatch ? ExitCode.Mismatch : writer.HadHoles ? ExitCode.Incomplete : ExitCode.Ok;
        }

        public async Task<ExitCode> JsonAsync()
        {
            await context.Out.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            var assembler = new ReadResultAssembler(ranges.Count);
            var complete = true;
            var mismatch = false;
            await using (var w = new Utf8JsonWriter(context.RawOut, JsonOutput.WriterOptions))
            {
                w.WriteStartObject();
                w.WriteNumber("pid", target.Pid);
                w.WriteNumber("startTime", target.StartTime);
                w.WriteBoolean("verify", verify);
                w.WriteStartArray("ranges");
                await foreach (var response in Stream().ConfigureAwait(false))
                {
                    foreach (var range in assembler.Add(response))
                    {
                        JsonOutput.WriteRange(w, range);
                        complete &= range.IsComplete;
                        mismatch |= range.HasMismatch;
                    }

                    // Hand finished ranges to stdout instead of holding the whole read.
                    await w.FlushAsync(context.CancellationToken).ConfigureAwait(false);
                }

                assembler.Complete();
                w.WriteEndArray();
                w.WriteBoolean("complete", complete);
                w.WriteBoolean("mismatch", mismatch);
                w.WriteEndObject();
            }

            context.RawOut.WriteByte((byte)'\n');
            await context.RawOut.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            return mismatch ? ExitCode.Mismatch : ExitCode.Ok;
        }
    }
}
