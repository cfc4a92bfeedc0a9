using System.Diagnostics;

namespace Pvmd.Cli.Probing;

/// <summary>A single status line on stderr, redrawn in place, only when stderr is a terminal
/// (a redirected stderr gets no progress at all, so logs stay clean).</summary>
internal sealed class ProgressLine(TextWriter error, bool enabled)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(100);
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private bool _drawn;

    public static ProgressLine ForStandardError() => new(Console.Error, !Console.IsErrorRedirected);

    public bool Enabled => enabled;

    /// <summary>Redraws the line, at most ten times a second.</summary>
    public void Update(string text)
    {
        if (!enabled || (_drawn && _sinceDraw.Elapsed < s_interval))
        {
            return;
        }

        // Carriage return, the text, then erase to the end of the line.
        error.Write("\r" + text + "\u001b[K");
        error.Flush();
        _drawn = true;
        _sinceDraw.Restart();
    }

    /// <summary>Erases the line, leaving the cursor where it was before the first draw.</summary>
    public void Clear()
    {
        if (_drawn)
        {
            error.Write("\r\u001b[K");
            error.Flush();
            _drawn = false;
        }
    }

    public static string Percent(ulong done, ulong total) =>
        total == 0 ? "?" : (100.0 * done / total).ToString("0", System.Globalization.CultureInfo.InvariantCulture) + "%";
}
