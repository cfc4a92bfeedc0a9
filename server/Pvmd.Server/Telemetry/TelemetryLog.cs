namespace Pvmd.Server.Telemetry;

/// <summary>The telemetry's log messages. Event ids 100-199 belong to this file.</summary>
internal static partial class TelemetryLog
{
    [LoggerMessage(100, LogLevel.Warning, "Byte-count mismatch: {Syscall} on pid {Pid} at {Address} returned {Returned} but changed {Actual} bytes ({Class}){Injected}")]
    public static partial void ByteCountMismatch(ILogger logger, string syscall, int pid, string address, long returned, long actual, string @class, string injected);

    [LoggerMessage(101, LogLevel.Warning, "FAULT INJECTION IS ON: {ExtraBytes} bytes are faked past the kernel's count in {Where}. Every mismatch it makes is labelled injected: a test of the reporting, not a finding about the kernel")]
    public static partial void FaultInjectionOn(ILogger logger, int extraBytes, string where);

    [LoggerMessage(102, LogLevel.Information, "Telemetry: {Plan}")]
    public static partial void Plan(ILogger logger, string plan);

    [LoggerMessage(103, LogLevel.Warning, "Probe found {NonExact} of {Total} cases not EXACT{Injected}")]
    public static partial void ProbeNonExact(ILogger logger, long nonExact, long total, string injected);
}
