using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Pvmd.Tests.Deploy;

/// <summary>YAML as plain trees: maps are <see cref="Dictionary{TKey,TValue}"/> of string keys,
/// sequences are <see cref="List{T}"/>, plain scalars are typed the way Kubernetes reads them
/// (bool, long, null, else string) and quoted scalars stay strings.</summary>
internal static partial class YamlTree
{
    public static List<object> LoadAll(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => Convert(d.RootNode)).OfType<object>().ToList();
    }

    public static object? Load(string text) => LoadAll(text).SingleOrDefault();

    public static object? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => Convert(kv.Value)),
        YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    private static object? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return value;
        }
        if (value is "" or "~" or "null")
        {
            return null;
        }
        if (value is "true" or "false")
        {
            return value == "true";
        }
        if (IntegerPattern().IsMatch(value))
        {
            return long.Parse(value, CultureInfo.InvariantCulture);
        }
        return value;
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    /// <summary>Helm's toYaml: block style, strings quoted where they would read as something else.</summary>
    public static string ToYaml(object? value)
    {
        var serializer = new SerializerBuilder().WithQuotingNecessaryStrings().Build();
        return serializer.Serialize(value).TrimEnd('\n');
    }

    /// <summary>The node at a dotted path ("spec.template.spec"), or null.</summary>
    public static object? At(object? node, string path)
    {
        foreach (var key in path.Split('.'))
        {
            if (node is not Dictionary<string, object?> map || !map.TryGetValue(key, out node))
            {
                return null;
            }
        }
        return node;
    }

    public static Dictionary<string, object?> MapAt(object? node, string path) =>
        At(node, path) as Dictionary<string, object?> ?? throw new Xunit.Sdk.XunitException($"no map at {path}");

    public static List<object?> ListAt(object? node, string path) =>
        At(node, path) as List<object?> ?? throw new Xunit.Sdk.XunitException($"no list at {path}");

    /// <summary>The element of a list of maps whose <paramref name="key"/> is <paramref name="name"/>.</summary>
    public static Dictionary<string, object?> Named(List<object?> list, string name, string key = "name") =>
        list.OfType<Dictionary<string, object?>>().SingleOrDefault(e => Equals(e.GetValueOrDefault(key), name))
        ?? throw new Xunit.Sdk.XunitException($"no element with {key} {name}");

    /// <summary>Deep copy, so a merge never changes its inputs.</summary>
    public static object? Clone(object? node) => node switch
    {
        Dictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Clone(kv.Value)),
        List<object?> list => list.Select(Clone).ToList(),
        _ => node,
    };

    // Kubernetes' strategic-merge keys for the lists the overlays patch.
    private static readonly Dictionary<string, string> s_mergeKeys = new()
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["ports"] = "containerPort",
    };

    /// <summary>A strategic-merge patch as kustomize applies it to the lists used here: maps merge
    /// key by key, lists with a merge key merge element by element (new ones appended), other
    /// lists are replaced.</summary>
    public static object? StrategicMerge(object? target, object? patch, string? field = null)
    {
        if (target is Dictionary<string, object?> targetMap && patch is Dictionary<string, object?> patchMap)
        {
            var result = (Dictionary<string, object?>)Clone(targetMap)!;
            foreach (var (key, value) in patchMap)
            {
                result[key] = result.TryGetValue(key, out var existing) ? StrategicMerge(existing, value, key) : Clone(value);
            }
            return result;
        }
        if (target is List<object?> targetList && patch is List<object?> patchList && field is not null
            && s_mergeKeys.TryGetValue(field, out var mergeKey))
        {
            var result = (List<object?>)Clone(targetList)!;
            foreach (var element in patchList.OfType<Dictionary<string, object?>>())
            {
                var index = result.FindIndex(e => e is Dictionary<string, object?> m && Equals(m.GetValueOrDefault(mergeKey), element[mergeKey]));
                if (index >= 0)
                {
                    result[index] = StrategicMerge(result[index], element);
                }
                else
                {
                    result.Add(Clone(element));
                }
            }
            return result;
        }
        return Clone(patch);
    }

    /// <summary>Where two trees differ, as "path: left != right" lines (empty when equal).</summary>
    public static List<string> Differences(object? left, object? right, string path = "")
    {
        var differences = new List<string>();
        switch (left, right)
        {
            case (Dictionary<string, object?> l, Dictionary<string, object?> r):
                foreach (var key in l.Keys.Union(r.Keys))
                {
                    differences.AddRange(Differences(l.GetValueOrDefault(key), r.GetValueOrDefault(key), $"{path}.{key}"));
                }
                break;
            case (List<object?> l, List<object?> r) when l.Count == r.Count:
                for (var i = 0; i < l.Count; i++)
                {
                    differences.AddRange(Differences(l[i], r[i], $"{path}[{i}]"));
                }
                break;
            default:
                if (!Equals(left, right))
                {
                    differences.Add($"{path}: {ToYaml(left)} != {ToYaml(right)}");
                }
                break;
        }
        return differences;
    }
}
