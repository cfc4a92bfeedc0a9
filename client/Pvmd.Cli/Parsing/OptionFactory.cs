using System.CommandLine;
using System.CommandLine.Parsing;
using Pvmd.Client;

namespace Pvmd.Cli.Parsing;

/// <summary>Options whose values go through <see cref="ValueParser"/>, so that a malformed value
/// is a parse error (exit code Usage) that names the option.</summary>
internal static class OptionFactory
{
    private delegate bool TryParse<T>(string text, out T value, out string error);

    public static Option<ulong?> Address(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "ADDRESS",
        CustomParser = r => ParseOne<ulong>(r, ValueParser.TryParseAddress),
    };

    public static Option<ulong?> Length(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "LENGTH",
        CustomParser = r => ParseOne<ulong>(r, ValueParser.TryParseLength),
    };

    public static Option<MemoryRange[]> Ranges(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "ADDRESS:LENGTH",
        CustomParser = r => ParseEach<MemoryRange>(r, ValueParser.TryParseRange),
    };

    /// <param name="name">The option's name.</param>
    /// <param name="description">The help text.</param>
    /// <param name="check">Refuses a well-formed range: returns the reason, or null to accept.</param>
    public static Option<(int Min, int Max)?> IntRange(string name, string description, Func<(int Min, int Max), string?>? check = null) => new(name)
    {
        Description = description,
        HelpName = "MIN..MAX",
        CustomParser = r => ParseOne<(int Min, int Max)>(r, (string text, out (int Min, int Max) value, out string error) =>
        {
            if (!ValueParser.TryParseIntRange(text, out value, out error))
            {
                return false;
            }

            error = check?.Invoke(value) ?? "";
            return error.Length == 0;
        }),
    };

    public static Option<int[]> IntList(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "N,N,...",
        CustomParser = r => ParseOne<int[]>(r, ValueParser.TryParseIntList),
    };

    public static Option<byte[]> HexBytes(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "HEX",
        CustomParser = r => ParseOne<byte[]>(r, ValueParser.TryParseHexBytes),
    };

    public static Option<int?> Pid(bool required) => new("--pid", "-p")
    {
        Description = "The target's process id.",
        HelpName = "PID",
        Required = required,
        CustomParser = r => ParseOne<int>(r, TryParsePid),
    };

    public static Option<ulong> StartTime() => new("--start-time")
    {
        Description = "The target's start time (clock ticks after boot, as 'ps' shows it); the daemon refuses if the pid now names another process. 0 = do not check.",
        HelpName = "TICKS",
    };

    private static bool TryParsePid(string text, out int value, out string error)
    {
        var ok = int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value > 0;
        error = ok ? "" : $"'{text}' is not a process id (a positive integer)";
        return ok;
    }

    private static T? ParseOne<T>(ArgumentResult result, TryParse<T> parse)
        where T : notnull
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (parse(token, out var value, out var error))
        {
            return value;
        }

        result.AddError($"{OptionName(result)}: {error}");
        return default;
    }

    private static T[] ParseEach<T>(ArgumentResult result, TryParse<T> parse)
    {
        var values = new List<T>(result.Tokens.Count);
        foreach (var token in result.Tokens)
        {
            if (!parse(token.Value, out var value, out var error))
            {
                result.AddError($"{OptionName(result)}: {error}");
                return [];
            }

            values.Add(value);
        }

        return [.. values];
    }

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
}
