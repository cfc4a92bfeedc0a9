using Pvmd.Client;
using Pvmd.V1;

namespace Pvmd.Cli.Probing;

/// <summary>What one daemon's probe stream amounts to: the summary, the first cases of each
/// class, and (for compare) every streamed case's class by key.</summary>
internal sealed class ProbeRun(int examplesPerClass, bool collectCases)
{
    private readonly Dictionary<CaseClass, List<ProbeCase>> _examples = [];
    private readonly Dictionary<CaseClass, ulong> _streamed = [];

    public ProbeSummary? Summary { get; private set; }

    public ProbeProgress? Progress { get; private set; }

    /// <summary>Class by case, for every case the daemon streamed (empty unless collecting).</summary>
    public Dictionary<CaseKey, CaseClass> Cases { get; } = [];

    public IReadOnlyList<ProbeCase> Examples(CaseClass value) =>
        _examples.TryGetValue(value, out var list) ? list : [];

    public ulong Streamed(CaseClass value) => _streamed.GetValueOrDefault(value);

    public void Add(ProbeResponse response)
    {
        switch (response.KindCase)
        {
            case ProbeResponse.KindOneofCase.Case:
                var c = response.Case;
                _streamed[c.Class] = _streamed.GetValueOrDefault(c.Class) + 1;
                if (!_examples.TryGetValue(c.Class, out var list))
                {
                    list = [];
                    _examples.Add(c.Class, list);
                }

                if (list.Count < examplesPerClass)
                {
                    list.Add(c);
                }

                if (collectCases)
                {
                    Cases[CaseKey.Of(c)] = c.Class;
                }

                break;
            case ProbeResponse.KindOneofCase.Progress:
                Progress = response.Progress;
                break;
            case ProbeResponse.KindOneofCase.Summary:
                Summary = response.Summary;
                break;
            default:
                break;
        }
    }

    /// <summary>The summary, which the stream must end with.</summary>
    public ProbeSummary RequireSummary() =>
        Summary ?? throw new UnexpectedResponseException("the probe stream ended without its summary");
}
