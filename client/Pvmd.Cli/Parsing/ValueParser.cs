using System.Globalization;
using Pvmd.Client;

namespace Pvmd.Cli.Parsing;

/// <summary>Parses the values pvmctl accepts: addresses, lengths, ranges, integer ranges and
/// lists, hex bytes. Each parser returns false with a short reason instead of throwing.</summary>
internal static class ValueParser
{
    /// <summary>An address: 0x-prefixed hex (0x7ffd1000) or decimal; '_' may group digits.</summary>
    public static bool TryParseAddress(string text, out ulong value, out string error)
    {
        value = 0;
        var s = text.Trim().Replace("_", "", StringComparison.Ordinal);
        if (s.Length == 0)
        {
            error = "empty value";
            return false;
        }

        var ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? s.Length > 2 && ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : s.All(char.IsAsciiDigit) && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        error = ok ? "" : $"'{text}' is not an address (0x-prefixed hex or decimal, at most 64 bits)";
        return ok;
    }

    /// <summary>A length above zero: like an address, with an optional binary suffix k, m or g
    /// (4k = 4096).</summary>
    public static bool TryParseLength(string text, out ulong value, out string error)
    {
        value = 0;
        var s = text.Trim();
        ulong unit = 1;
        if (s.Length > 1 && !s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            unit = char.ToLowerInvariant(s[^1]) switch
            {
                'k' => 1UL << 10,
                'm' => 1UL << 20,
                'g' => 1UL << 30,
                _ => 1,
            };
            if (unit != 1)
            {
                s = s[..^1];
            }
        }

        if (!TryParseAddress(s, out var n, out _))
        {
            error = $"'{text}' is not a length (0x-prefixed hex or decimal, optional k/m/g suffix)";
            return false;
        }

        if (n == 0)
        {
            error = "a length must be above zero";
            return false;
        }

        if (n > ulong.MaxValue / unit)
        {
            error = $"'{text}' is too large";
            return false;
        }

        value = n * unit;
        error = "";
        return true;
    }

    /// <summary>A range "ADDRESS:LENGTH" (0x1000:4k); address + length must fit in 64 bits, as
    /// the contract requires (so no range ends exactly at 2^64).</summary>
    public static bool TryParseRange(string text, out MemoryRange value, out string error)
    {
        value = default;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            error = $"'{text}' is not a range (ADDRESS:LENGTH, e.g. 0x7ffd1000:4k)";
            return false;
        }

        if (!TryParseAddress(text[..colon], out var address, out error) || !TryParseLength(text[(colon + 1)..], out var length, out error))
        {
            return false;
        }

        if (!FitsAddressSpace(address, length))
        {
            error = $"range '{text}' runs past the end of the address space";
            return false;
        }

        value = new MemoryRange(address, length);
        error = "";
        return true;
    }

    /// <summary>True when address + length does not overflow 64 bits.</summary>
    public static bool FitsAddressSpace(ulong address, ulong length) => length <= ulong.MaxValue - address;

    /// <summary>An inclusive integer range "MIN..MAX", or "N" for N..N; both at least zero.</summary>
    public static bool TryParseIntRange(string text, out (int Min, int Max) value, out string error)
    {
        value = default;
        var s = text.Trim();
        var dots = s.IndexOf("..", StringComparison.Ordinal);
        var minText = dots < 0 ? s : s[..dots];
        var maxText = dots < 0 ? s : s[(dots + 2)..];
        if (!int.TryParse(minText, NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            || !int.TryParse(maxText, NumberStyles.None, CultureInfo.InvariantCulture, out var max))
        {
            error = $"'{text}' is not a range of integers (MIN..MAX or N, at least 0)";
            return false;
        }

        if (min > max)
        {
            error = $"'{text}': MIN is above MAX";
            return false;
        }

        value = (min, max);
        error = "";
        return true;
    }

    /// <summary>A comma-separated list of integers at least zero ("256,1024,4095").</summary>
    public static bool TryParseIntList(string text, out int[] value, out string error)
    {
        value = [];
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
            {
                error = $"'{text}' is not a list of integers (N,N,..., each at least 0)";
                return false;
            }
        }

        value = result;
        error = "";
        return true;
    }

    /// <summary>Bytes written as hex digits, two per byte; whitespace is ignored and a leading
    /// 0x is allowed ("90 90 cc", "0x9090cc").</summary>
    public static bool TryParseHexBytes(string text, out byte[] value, out string error)
    {
        value = [];
        var s = string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            s = s[2..];
        }

        if (s.Length == 0)
        {
            error = "no bytes given";
            return false;
        }

        if (s.Length % 2 != 0 || !s.All(char.IsAsciiHexDigit))
        {
            error = $"'{text}' is not hex bytes (two hex digits per byte)";
            return false;
        }

        value = Convert.FromHexString(s);
        error = "";
        return true;
    }
}
