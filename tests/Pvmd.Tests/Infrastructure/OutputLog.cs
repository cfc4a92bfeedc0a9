using System.Text;

namespace Pvmd.Tests.Infrastructure;

/// <summary>Lines a child process wrote, kept for failure messages.</summary>
internal sealed class OutputLog
{
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();

    public void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            _text.AppendLine(line);
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return _text.ToString();
        }
    }
}
