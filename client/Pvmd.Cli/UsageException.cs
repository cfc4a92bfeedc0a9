namespace Pvmd.Cli;

/// <summary>The command line is wrong in a way the parser cannot see (options that exclude
/// each other, a file that cannot be read); reported as one line, exit code Usage.</summary>
internal sealed class UsageException(string message) : Exception(message);
