using System.Globalization;
using System.Text;

namespace Pvmd.Tests.Deploy;

/// <summary>Renders the Helm chart in deploy/helm/pvmd without helm, which no Debian package
/// ships: the part of Go's template language and of Helm's functions that the chart's templates
/// keep to (see templates/_helpers.tpl). Anything else, and any value the templates name that
/// values.yaml lacks, is an error, so the chart cannot drift beyond what this test can check.</summary>
internal sealed class ChartRenderer
{
    private readonly string _chartDirectory;
    private readonly Dictionary<string, List<Node>> _defines = new();
    private readonly Dictionary<string, List<Node>> _templates = new();
    private readonly Dictionary<string, object?> _chart;

    public ChartRenderer(string chartDirectory)
    {
        _chartDirectory = chartDirectory;
        var chartYaml = (Dictionary<string, object?>)YamlTree.Load(File.ReadAllText(Path.Combine(chartDirectory, "Chart.yaml")))!;
        // Helm names the Chart.yaml fields with capitals in templates: .Chart.AppVersion.
        _chart = chartYaml.ToDictionary(kv => char.ToUpperInvariant(kv.Key[0]) + kv.Key[1..], kv => kv.Value);
        foreach (var file in Directory.GetFiles(Path.Combine(chartDirectory, "templates")).Order(StringComparer.Ordinal))
        {
            var nodes = Parse(File.ReadAllText(file), Path.GetFileName(file));
            if (file.EndsWith(".yaml", StringComparison.Ordinal) || file.EndsWith(".txt", StringComparison.Ordinal))
            {
                _templates[Path.GetFileName(file)] = nodes;
            }
        }
    }

    public Dictionary<string, object?> DefaultValues() =>
        (Dictionary<string, object?>)YamlTree.Load(File.ReadAllText(Path.Combine(_chartDirectory, "values.yaml")))!;

    /// <summary>Renders every template with values.yaml merged with <paramref name="overrides"/>
    /// (dotted paths, as helm's --set); returns the text per template file.</summary>
    public Dictionary<string, string> Render(string releaseName, string releaseNamespace, IReadOnlyDictionary<string, object?>? overrides = null)
    {
        var values = DefaultValues();
        foreach (var (path, value) in overrides ?? new Dictionary<string, object?>())
        {
            var keys = path.Split('.');
            var map = values;
            foreach (var key in keys[..^1])
            {
                map = map[key] as Dictionary<string, object?> ?? throw new InvalidOperationException($"--set {path}: {key} is not a map in values.yaml");
            }
            if (!map.ContainsKey(keys[^1]))
            {
                throw new InvalidOperationException($"--set {path}: no such value in values.yaml");
            }
            map[keys[^1]] = value;
        }
        var root = new Dictionary<string, object?>
        {
            ["Values"] = values,
            ["Chart"] = _chart,
            ["Release"] = new Dictionary<string, object?> { ["Name"] = releaseName, ["Namespace"] = releaseNamespace, ["Service"] = "Helm" },
        };
        return _templates.ToDictionary(t => t.Key, t => Execute(t.Value, root, root));
    }

    /// <summary>The YAML objects of all rendered manifests.</summary>
    public List<object> RenderObjects(string releaseName, string releaseNamespace, IReadOnlyDictionary<string, object?>? overrides = null) =>
        Render(releaseName, releaseNamespace, overrides)
            .Where(t => t.Key.EndsWith(".yaml", StringComparison.Ordinal))
            .SelectMany(t => YamlTree.LoadAll(t.Value))
            .ToList();

    // ---- parsing --------------------------------------------------------------------------

    private abstract record Node;
    private sealed record TextNode(string Text) : Node;
    private sealed record OutputNode(Expression Pipeline) : Node;
    private sealed record IfNode(Expression Condition, List<Node> Then, List<Node> Else) : Node;

    private abstract record Expression;
    private sealed record Literal(object? Value) : Expression;
    private sealed record Field(string[] Path, bool FromRoot) : Expression;
    private sealed record Call(string Function, List<Expression> Arguments) : Expression;
    private sealed record Pipeline(List<Expression> Commands) : Expression;

    private List<Node> Parse(string text, string file)
    {
        var actions = Tokenize(text);
        var position = 0;
        var nodes = ParseBlock(actions, ref position, file, out var terminator);
        if (terminator is not null)
        {
            throw new InvalidOperationException($"{file}: unexpected {{{{ {terminator} }}}}");
        }
        return nodes;
    }

    private List<Node> ParseBlock(List<(bool IsAction, string Text)> tokens, ref int position, string file, out string? terminator)
    {
        var nodes = new List<Node>();
        while (position < tokens.Count)
        {
            var (isAction, text) = tokens[position++];
            if (!isAction)
            {
                nodes.Add(new TextNode(text));
                continue;
            }
            if (text.StartsWith("/*", StringComparison.Ordinal))
            {
                continue;
            }
            if (text is "end" or "else")
            {
                terminator = text;
                return nodes;
            }
            if (text.StartsWith("define ", StringComparison.Ordinal))
            {
                var name = (string)((Literal)ParseExpression(text["define ".Length..])).Value!;
                _defines[name] = ParseBlock(tokens, ref position, file, out var end);
                Expect(end, "end", file, text);
                continue;
            }
            if (text.StartsWith("if ", StringComparison.Ordinal))
            {
                var condition = ParseExpression(text["if ".Length..]);
                var then = ParseBlock(tokens, ref position, file, out var end);
                var otherwise = new List<Node>();
                if (end == "else")
                {
                    otherwise = ParseBlock(tokens, ref position, file, out end);
                }
                Expect(end, "end", file, text);
                nodes.Add(new IfNode(condition, then, otherwise));
                continue;
            }
            var firstWord = text.Split(' ', 2)[0];
            if (firstWord is "range" or "with" or "template" or "block" or "tpl")
            {
                throw new InvalidOperationException($"{file}: '{firstWord}' is outside the template subset this chart keeps to");
            }
            nodes.Add(new OutputNode(ParseExpression(text)));
        }
        terminator = null;
        return nodes;
    }

    private static void Expect(string? actual, string expected, string file, string opening)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"{file}: {{{{ {opening} }}}} has no {{{{ {expected} }}}}");
        }
    }

    /// <summary>Splits a template into text and actions, applying the {{- and -}} trim markers.</summary>
    private static List<(bool IsAction, string Text)> Tokenize(string text)
    {
        var tokens = new List<(bool, string)>();
        var position = 0;
        var trimNext = false;
        while (true)
        {
            var open = text.IndexOf("{{", position, StringComparison.Ordinal);
            var chunk = open < 0 ? text[position..] : text[position..open];
            if (trimNext)
            {
                chunk = chunk.TrimStart();
            }
            if (open < 0)
            {
                tokens.Add((false, chunk));
                return tokens;
            }
            var close = text.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new InvalidOperationException("unclosed {{");
            }
            var inner = text[(open + 2)..close];
            if (inner.StartsWith("- ", StringComparison.Ordinal) || inner.StartsWith("-\n", StringComparison.Ordinal))
            {
                chunk = chunk.TrimEnd();
                inner = inner[1..];
            }
            trimNext = inner.EndsWith(" -", StringComparison.Ordinal) || inner.EndsWith("\n-", StringComparison.Ordinal);
            if (trimNext)
            {
                inner = inner[..^1];
            }
            tokens.Add((false, chunk));
            tokens.Add((true, inner.Trim()));
            position = close + 2;
        }
    }

    private static Expression ParseExpression(string text)
    {
        var words = Lex(text);
        var position = 0;
        var expression = ParsePipeline(words, ref position);
        if (position != words.Count)
        {
            throw new InvalidOperationException($"cannot parse '{text}'");
        }
        return expression;
    }

    private static Expression ParsePipeline(List<string> words, ref int position)
    {
        var commands = new List<Expression>();
        while (true)
        {
            var operands = new List<Expression>();
            string? function = null;
            while (position < words.Count && words[position] is not "|" and not ")")
            {
                var word = words[position++];
                if (word == "(")
                {
                    operands.Add(ParsePipeline(words, ref position));
                    if (position >= words.Count || words[position++] != ")")
                    {
                        throw new InvalidOperationException("unbalanced parenthesis");
                    }
                }
                else if (word.StartsWith('"'))
                {
                    operands.Add(new Literal(System.Text.Json.JsonSerializer.Deserialize<string>(word)));
                }
                else if (char.IsAsciiDigit(word[0]) || word[0] == '-')
                {
                    operands.Add(new Literal(long.Parse(word, CultureInfo.InvariantCulture)));
                }
                else if (word == "." || word == "$")
                {
                    operands.Add(new Field([], word == "$"));
                }
                else if (word.StartsWith('.') || word.StartsWith("$.", StringComparison.Ordinal))
                {
                    operands.Add(new Field(word.TrimStart('$').TrimStart('.').Split('.'), word.StartsWith('$')));
                }
                else if (operands.Count == 0 && function is null)
                {
                    function = word;
                }
                else
                {
                    throw new InvalidOperationException($"unexpected '{word}'");
                }
            }
            commands.Add(function is null
                ? operands.Count == 1 ? operands[0] : throw new InvalidOperationException("an operand list without a function")
                : new Call(function, operands));
            if (position < words.Count && words[position] == "|")
            {
                position++;
                continue;
            }
            return commands.Count == 1 ? commands[0] : new Pipeline(commands);
        }
    }

    private static List<string> Lex(string text)
    {
        var words = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '|' or '(' or ')')
            {
                words.Add(c.ToString());
                i++;
            }
            else if (c == '"')
            {
                var start = i++;
                while (text[i] != '"')
                {
                    i += text[i] == '\\' ? 2 : 1;
                }
                words.Add(text[start..++i]);
            }
            else
            {
                var start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not '|' and not '(' and not ')')
                {
                    i++;
                }
                words.Add(text[start..i]);
            }
        }
        return words;
    }

    // ---- evaluation -----------------------------------------------------------------------

    private string Execute(List<Node> nodes, object? dot, object? root)
    {
        var output = new StringBuilder();
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case OutputNode o:
                    output.Append(Print(Evaluate(o.Pipeline, dot, root, null)));
                    break;
                case IfNode branch:
                    output.Append(Execute(Truthy(Evaluate(branch.Condition, dot, root, null)) ? branch.Then : branch.Else, dot, root));
                    break;
            }
        }
        return output.ToString();
    }

    private object? Evaluate(Expression expression, object? dot, object? root, object? piped)
    {
        switch (expression)
        {
            case Pipeline pipeline:
                object? value = null;
                for (var i = 0; i < pipeline.Commands.Count; i++)
                {
                    value = Evaluate(pipeline.Commands[i], dot, root, i == 0 ? null : new Piped(value));
                }
                return value;
            case Call call:
                var arguments = call.Arguments.Select(a => Evaluate(a, dot, root, null)).ToList();
                if (piped is Piped p)
                {
                    arguments.Add(p.Value);
                }
                return Invoke(call.Function, arguments, root);
            case Literal literal when piped is null:
                return literal.Value;
            case Field field when piped is null:
                var node = field.FromRoot ? root : dot;
                var walked = new List<string>();
                foreach (var key in field.Path)
                {
                    walked.Add(key);
                    if (node is not Dictionary<string, object?> map || !map.TryGetValue(key, out node))
                    {
                        throw new InvalidOperationException($"the templates use .{string.Join('.', walked)}, which is not defined");
                    }
                }
                return node;
            default:
                throw new InvalidOperationException("a value cannot take a piped argument");
        }
    }

    private sealed record Piped(object? Value);

    private object? Invoke(string function, List<object?> a, object? root)
    {
        string Text(int i) => Print(a[i]);
        int Number(int i) => System.Convert.ToInt32(a[i], CultureInfo.InvariantCulture);
        void Arity(int n)
        {
            if (a.Count != n)
            {
                throw new InvalidOperationException($"{function} takes {n} arguments, not {a.Count}");
            }
        }
        switch (function)
        {
            case "include":
                Arity(2);
                return _defines.TryGetValue(Text(0), out var body)
                    ? Execute(body, a[1], root)
                    : throw new InvalidOperationException($"no template named {Text(0)}");
            case "toYaml":
                Arity(1);
                return YamlTree.ToYaml(a[0]);
            case "indent":
                Arity(2);
                return Indent(Number(0), Text(1));
            case "nindent":
                Arity(2);
                return "\n" + Indent(Number(0), Text(1));
            case "quote":
                Arity(1);
                return System.Text.Json.JsonSerializer.Serialize(Text(0));
            case "default":
                Arity(2);
                return Truthy(a[1]) ? a[1] : a[0];
            case "trunc":
                Arity(2);
                return Text(1).Length > Number(0) ? Text(1)[..Number(0)] : Text(1);
            case "trimSuffix":
                Arity(2);
                return Text(1).EndsWith(Text(0), StringComparison.Ordinal) ? Text(1)[..^Text(0).Length] : Text(1);
            case "printf":
                var format = Text(0);
                var next = 1;
                var result = new StringBuilder();
                for (var i = 0; i < format.Length; i++)
                {
                    if (format[i] == '%' && i + 1 < format.Length && format[i + 1] is 's' or 'v' or 'd')
                    {
                        result.Append(Text(next++));
                        i++;
                    }
                    else
                    {
                        result.Append(format[i]);
                    }
                }
                return result.ToString();
            case "and":
                return a.FirstOrDefault(v => !Truthy(v), a[^1]);
            case "or":
                return a.FirstOrDefault(Truthy, a[^1]);
            case "not":
                Arity(1);
                return !Truthy(a[0]);
            case "eq":
                Arity(2);
                return Equals(a[0], a[1]);
            default:
                throw new InvalidOperationException($"'{function}' is outside the template subset this chart keeps to");
        }
    }

    private static string Indent(int spaces, string text)
    {
        var pad = new string(' ', spaces);
        return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long n => n != 0,
        string s => s.Length > 0,
        Dictionary<string, object?> map => map.Count > 0,
        List<object?> list => list.Count > 0,
        _ => true,
    };

    private static string Print(object? value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        null => throw new InvalidOperationException("a template prints a value that is not set"),
        _ => throw new InvalidOperationException($"a template prints a {value.GetType().Name}: use toYaml"),
    };
}
