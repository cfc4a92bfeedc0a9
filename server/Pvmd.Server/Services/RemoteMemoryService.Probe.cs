using Grpc.Core;
using Pvmd.Core;
using Pvmd.Core.Interop;
using Pvmd.V1;
using Engine = Pvmd.Core.Probe;

namespace Pvmd.Server.Services;

public sealed partial class RemoteMemoryService
{
    /// <summary>Runs the short-buffer probe and streams its records as the engine produces
    /// them; each write is awaited, so a slow client slows the sweep rather than filling the
    /// daemon's memory.</summary>
    public override async Task ProbeShortBuffer(ProbeRequest request, IServerStreamWriter<ProbeResponse> responseStream, ServerCallContext context)
    {
        var sweep = ProbeMapping.ToSweep(request);
        var cancellationToken = context.CancellationToken;
        await foreach (var probeEvent in Engine.ShortBufferProbe.RunAsync(sweep, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(ProbeMapping.ToResponse(probeEvent), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The contract's probe messages to and from the engine's types. Unknown enum
    /// values are the caller's error, never a silent default.</summary>
    private static class ProbeMapping
    {
        public static Engine.ProbeSweep ToSweep(ProbeRequest request)
        {
            var defaults = new Engine.ProbeSweep();
            if (request.ProgressEvery > int.MaxValue)
            {
                throw new InvalidRequestException($"progress_every {request.ProgressEvery} is too large");
            }
            Engine.ProbeTarget? target = null;
            if (request.Target is { Pid: not 0 } given)
            {
                target = new Engine.ProbeTarget(given.Pid, given.StartTime, request.RemoteAddress);
            }
            else if (request.RemoteAddress != 0)
            {
                throw new InvalidRequestException("remote_address needs a target pid: the scratch child's memory is the probe's own");
            }
            return new Engine.ProbeSweep
            {
                Op = request.Op switch
                {
                    ProbeOp.Unspecified => Engine.ProbeOp.Both,
                    ProbeOp.Readv => Engine.ProbeOp.Readv,
                    ProbeOp.Writev => Engine.ProbeOp.Writev,
                    _ => throw Unknown("op", (int)request.Op),
                },
                Before = Interval(request.Before, defaults.Before),
                After = Interval(request.After, defaults.After),
                Misalignment = Interval(request.Misalignment, defaults.Misalignment),
                SparseBefore = [.. request.SparseBefore],
                SparseAfter = [.. request.SparseAfter],
                Guard = request.Guard switch
                {
                    GuardKind.Unspecified or GuardKind.ProtNone => Engine.GuardKind.ProtNone,
                    GuardKind.Munmap => Engine.GuardKind.Munmap,
                    _ => throw Unknown("guard", (int)request.Guard),
                },
                Layout = request.Layout switch
                {
                    ProbeLayout.Unspecified or ProbeLayout.Single => Engine.ProbeLayout.Single,
                    ProbeLayout.Split => Engine.ProbeLayout.Split,
                    ProbeLayout.Rr => Engine.ProbeLayout.Rr,
                    _ => throw Unknown("layout", (int)request.Layout),
                },
                ShortSide = request.ShortSide switch
                {
                    ShortSide.Unspecified or ShortSide.Local => Engine.ShortSide.Local,
                    ShortSide.Remote => Engine.ShortSide.Remote,
                    _ => throw Unknown("short_side", (int)request.ShortSide),
                },
                Target = target,
                IncludeExact = request.IncludeExact,
                ProgressEvery = (int)request.ProgressEvery,
            };
        }

        public static ProbeResponse ToResponse(Engine.ProbeEvent probeEvent) => probeEvent switch
        {
            Engine.ProbeCaseRecord record => new ProbeResponse { Case = ToCase(record) },
            Engine.ProbeProgress progress => new ProbeResponse { Progress = new ProbeProgress { Done = (ulong)progress.Done, Total = (ulong)progress.Total } },
            Engine.ProbeSummary summary => new ProbeResponse { Summary = ToSummary(summary) },
            _ => throw new InvalidOperationException($"unexpected probe event {probeEvent.GetType().Name}"),
        };

        private static InvalidRequestException Unknown(string field, int value) => new($"unknown {field} value {value}");

        // An absent range means the default; a present one is used as given, 0..0 included.
        private static Engine.IntInterval Interval(IntRange? range, Engine.IntInterval fallback) =>
            range is null ? fallback : new Engine.IntInterval(range.Min, range.Max);

        private static ProbeCase ToCase(Engine.ProbeCaseRecord record)
        {
            var measurement = record.Measurement;
            var message = new ProbeCase
            {
                Op = record.Op == Engine.ProbeOp.Readv ? ProbeOp.Readv : ProbeOp.Writev,
                Layout = record.Layout switch
                {
                    Engine.ProbeLayout.Split => ProbeLayout.Split,
                    Engine.ProbeLayout.Rr => ProbeLayout.Rr,
                    _ => ProbeLayout.Single,
                },
                Guard = record.Guard == Engine.GuardKind.Munmap ? GuardKind.Munmap : GuardKind.ProtNone,
                ShortSide = record.ShortSide == Engine.ShortSide.Remote ? ShortSide.Remote : ShortSide.Local,
                LayoutName = record.LayoutName,
                Before = record.Before,
                After = record.After,
                Misalignment = record.Misalignment,
                Ret = measurement.First.Ret,
                ErrnoName = Errno.Name(measurement.First.Errno),
                RunsAgree = measurement.RunsAgree,
                Deficit = measurement.Deficit,
                FirstModified = measurement.FirstModified,
                LastModified = measurement.LastModified,
                ModifiedCount = (uint)measurement.ModifiedCount,
                ModifiedBeyondRet = (uint)measurement.ModifiedBeyondRet,
                OverReported = (uint)measurement.OverReported,
                ModifiedBeforeBuffer = (uint)measurement.ModifiedBeforeBuffer,
                SourceChanged = record.SourceChanged,
                Class = ToClass(record.Class),
                ExpectedRet = measurement.ExpectedRet,
            };
            foreach (var range in record.ModifiedBeyondRanges)
            {
                message.ModifiedBeyondRanges.Add(new Hole { Address = (ulong)range.Offset, Length = (ulong)range.Length });
            }
            return message;
        }

        private static ProbeSummary ToSummary(Engine.ProbeSummary summary)
        {
            var message = new ProbeSummary
            {
                Total = (ulong)summary.Total,
                Host = ProtoMapping.ToProto(summary.Host),
                ElapsedSeconds = summary.ElapsedSeconds,
                TargetPid = summary.TargetPid,
            };
            foreach (var klass in Enum.GetValues<Engine.CaseClass>())
            {
                message.Counts.Add(new ClassCount { Class = ToClass(klass), Count = (ulong)summary.Counts.GetValueOrDefault(klass) });
            }
            return message;
        }

        private static CaseClass ToClass(Engine.CaseClass klass) => klass switch
        {
            Engine.CaseClass.Exact => CaseClass.Exact,
            Engine.CaseClass.ShortClean => CaseClass.ShortClean,
            Engine.CaseClass.ShortDirty => CaseClass.ShortDirty,
            Engine.CaseClass.OverReport => CaseClass.OverReport,
            Engine.CaseClass.EfaultClean => CaseClass.EfaultClean,
            Engine.CaseClass.EfaultDirty => CaseClass.EfaultDirty,
            _ => CaseClass.Unspecified,
        };
    }
}
