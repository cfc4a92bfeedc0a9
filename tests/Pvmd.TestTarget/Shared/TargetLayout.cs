using System.Globalization;
using System.Text.Json.Serialization;

namespace Pvmd.TestTarget;

/// <summary>
/// The one JSON line the test target prints on stdout once its memory is ready
/// (this file is linked into both projects). Addresses are hex strings ("0x7f12..."), so
/// no JSON reader rounds them; lengths are numbers of bytes.
/// <code>
/// {"pid":123,"pageSize":4096,
///  "pattern":{"address":"0x1000000000","length":16384},   N pages rw-p, TestPattern seed 0
///  "hole":{...,"length":12288},      rw-p page, unmapped page, rw-p page; seed 1, offsets from the first page
///  "protnone":{...,"length":8192},   rw-p page (seed 2), then a ---p page
///  "readonly":{...,"length":4096},   r-xp page, seed 3
///  "scratch":{...,"length":4096},    rw-p page of zeros, for writes
///  "bulk":{...,"length":67108864}}   only with --bulk-mib N: N MiB rw-p, seed 4
/// </code>
/// </summary>
internal sealed record TargetLayout(
    int Pid,
    int PageSize,
    TargetRegion Pattern,
    TargetRegion Hole,
    [property: JsonPropertyName("protnone")] TargetRegion ProtNone,
    [property: JsonPropertyName("readonly")] TargetRegion ReadOnly,
    TargetRegion Scratch)
{
    /// <summary>The large patterned region of <c>--bulk-mib</c>; null (and absent from the JSON) without it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TargetRegion? Bulk { get; init; }
}

/// <summary>A region of the target: where it starts and how long it is.</summary>
internal sealed record TargetRegion(string Address, ulong Length)
{
    [JsonIgnore]
    public ulong Start => ParseAddress(Address);

    [JsonIgnore]
    public ulong End => Start + Length;

    public static string FormatAddress(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Parses "0x..." (hex) or plain decimal.</summary>
    public static ulong ParseAddress(string text) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : ulong.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TargetLayout))]
internal sealed partial class TargetLayoutJson : JsonSerializerContext;
