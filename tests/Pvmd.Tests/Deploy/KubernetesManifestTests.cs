using System.Text.RegularExpressions;
using static Pvmd.Tests.Deploy.YamlTree;

namespace Pvmd.Tests.Deploy;

/// <summary>The plain manifests (deploy/kubernetes, with and without the tls overlay) and the
/// Helm chart (deploy/helm/pvmd, rendered here with and without tls.enabled) carry the
/// properties the daemon's deployment depends on, and say the same thing. No cluster and no helm
/// binary run here, so the checks are structural.</summary>
public sealed partial class KubernetesManifestTests
{
    private const string HealthCheckBinary = "/opt/pvmd/pvmd";

    public static TheoryData<string> Variants => new() { "plain", "plain+tls", "chart", "chart+tls" };

    internal static List<object> Objects(string variant) => variant switch
    {
        "plain" => Kustomize("deploy/kubernetes"),
        "plain+tls" => Kustomize("deploy/kubernetes/tls"),
        "chart" => Chart().RenderObjects("pvmd", "pvmd"),
        "chart+tls" => Chart().RenderObjects("pvmd", "pvmd", new Dictionary<string, object?> { ["tls.enabled"] = true }),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    private static ChartRenderer Chart() => new(RepositoryFiles.PathOf("deploy/helm/pvmd"));

    /// <summary>What `kubectl apply -k DIR` would send, for the kustomize features these
    /// kustomizations use: resources (files and directories) and strategic-merge patches.</summary>
    internal static List<object> Kustomize(string directory)
    {
        var kustomization = Load(RepositoryFiles.Read($"{directory}/kustomization.yaml"));
        var objects = new List<object>();
        foreach (var resource in ListAt(kustomization, "resources").Cast<string>())
        {
            var path = Path.GetFullPath(Path.Combine(RepositoryFiles.PathOf(directory), resource));
            objects.AddRange(Directory.Exists(path)
                ? Kustomize(Path.GetRelativePath(RepositoryFiles.Root, path))
                : LoadAll(File.ReadAllText(path)));
        }
        foreach (var patch in (At(kustomization, "patches") as List<object?> ?? []).Cast<Dictionary<string, object?>>())
        {
            var patchObject = Load(RepositoryFiles.Read($"{directory}/{patch["path"]}"));
            var index = objects.FindIndex(o => SameObject(o, patchObject));
            Assert.True(index >= 0, $"{directory}: patch {patch["path"]} matches no resource");
            objects[index] = StrategicMerge(objects[index], patchObject)!;
        }
        return objects;
    }

    private static bool SameObject(object? a, object? b) =>
        Equals(At(a, "kind"), At(b, "kind")) && Equals(At(a, "metadata.name"), At(b, "metadata.name"));

    private static Dictionary<string, object?> Single(List<object> objects, string kind) =>
        (Dictionary<string, object?>)Assert.Single(objects, o => Equals(At(o, "kind"), kind));

    private static Dictionary<string, object?> PvmdContainer(Dictionary<string, object?> daemonSet) =>
        Named(ListAt(daemonSet, "spec.template.spec.containers"), "pvmd");

    private static string? Env(Dictionary<string, object?> container, string name) =>
        (At(container, "env") as List<object?> ?? []).OfType<Dictionary<string, object?>>()
            .Where(e => Equals(e["name"], name)).Select(e => e["value"]?.ToString()).SingleOrDefault();

    /// <summary>The mount whose path holds <paramref name="file"/>, and the volume behind it.</summary>
    private static Dictionary<string, object?> VolumeHolding(Dictionary<string, object?> daemonSet, string file)
    {
        var mount = ListAt(PvmdContainer(daemonSet), "volumeMounts").OfType<Dictionary<string, object?>>()
            .SingleOrDefault(m => file.StartsWith((string)m["mountPath"]! + "/", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no volume mount holds {file}");
        return Named(ListAt(daemonSet, "spec.template.spec.volumes"), (string)mount["name"]!);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void DaemonSet_SeesTheNodesProcessesWithOnlySysPtrace(string variant)
    {
        var daemonSet = Single(Objects(variant), "DaemonSet");
        var pod = MapAt(daemonSet, "spec.template.spec");
        Assert.Equal(true, pod["hostPID"]);
        Assert.NotEqual(true, pod.GetValueOrDefault("hostNetwork"));
        Assert.NotEqual(true, pod.GetValueOrDefault("hostIPC"));

        var security = MapAt(PvmdContainer(daemonSet), "securityContext");
        Assert.Equal(["ALL"], ListAt(security, "capabilities.drop"));
        Assert.Equal(["SYS_PTRACE"], ListAt(security, "capabilities.add"));
        Assert.Equal(false, security["allowPrivilegeEscalation"]);
        Assert.Equal(true, security["readOnlyRootFilesystem"]);
        Assert.NotEqual(true, security.GetValueOrDefault("privileged"));
        Assert.Equal("RuntimeDefault", At(security, "seccompProfile.type"));
        Assert.Equal("RuntimeDefault", At(pod, "securityContext.seccompProfile.type"));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void DaemonSet_HasResourcesProbesAndArchitectureAffinity(string variant)
    {
        var daemonSet = Single(Objects(variant), "DaemonSet");
        var container = PvmdContainer(daemonSet);
        foreach (var kind in new[] { "requests", "limits" })
        {
            Assert.NotNull(At(container, $"resources.{kind}.cpu"));
            Assert.NotNull(At(container, $"resources.{kind}.memory"));
        }
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            Assert.Equal([HealthCheckBinary, "--health-check"], ListAt(container, $"{probe}.exec.command"));
        }

        var terms = ListAt(daemonSet, "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms");
        var arch = Named(ListAt(Assert.Single(terms), "matchExpressions"), "kubernetes.io/arch", "key");
        Assert.Equal("In", arch["operator"]);
        Assert.Equal(["amd64", "arm64"], ListAt(arch, "values"));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void DaemonSet_PutsTheSocketOnTheNodeAndThePolicyInAConfigMap(string variant)
    {
        var objects = Objects(variant);
        var daemonSet = Single(objects, "DaemonSet");
        var container = PvmdContainer(daemonSet);

        var socket = Env(container, "PVMD_SOCKET")!;
        Assert.Equal("/run/pvmd/pvmd.sock", socket);
        var socketVolume = VolumeHolding(daemonSet, socket);
        Assert.Equal("/run/pvmd", At(socketVolume, "hostPath.path"));
        Assert.Equal("DirectoryOrCreate", At(socketVolume, "hostPath.type"));
        Assert.NotNull(At(VolumeHolding(daemonSet, "/var/lib/pvmd/audit.log"), "hostPath.path"));

        var policy = Env(container, "PVMD_POLICY")!;
        var policyVolume = VolumeHolding(daemonSet, policy);
        var configMap = Single(objects, "ConfigMap");
        Assert.Equal(At(configMap, "metadata.name"), At(policyVolume, "configMap.name"));
        Assert.NotNull(MapAt(configMap, "data").GetValueOrDefault(Path.GetFileName(policy)));

        var serviceAccount = Single(objects, "ServiceAccount");
        Assert.Equal(At(serviceAccount, "metadata.name"), At(daemonSet, "spec.template.spec.serviceAccountName"));
        Assert.Equal(false, serviceAccount["automountServiceAccountToken"]);
        Assert.Equal(false, At(daemonSet, "spec.template.spec.automountServiceAccountToken"));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("chart")]
    public void WithoutTls_NothingListensOnTheNetwork(string variant)
    {
        var objects = Objects(variant);
        var container = PvmdContainer(Single(objects, "DaemonSet"));
        Assert.Null(Env(container, "PVMD_LISTEN"));
        Assert.Null(At(container, "ports"));
        Assert.DoesNotContain(objects, o => Equals(At(o, "kind"), "Service"));
    }

    [Theory]
    [InlineData("plain+tls")]
    [InlineData("chart+tls")]
    public void WithTls_AHeadlessServiceReachesEachPodWithCertificatesFromASecret(string variant)
    {
        var objects = Objects(variant);
        var daemonSet = Single(objects, "DaemonSet");
        var container = PvmdContainer(daemonSet);
        var service = Single(objects, "Service");

        Assert.Equal("None", At(service, "spec.clusterIP"));
        var podLabels = MapAt(daemonSet, "spec.template.metadata.labels");
        Assert.All(MapAt(service, "spec.selector"), kv => Assert.Equal(kv.Value, podLabels.GetValueOrDefault(kv.Key)));
        var servicePort = (Dictionary<string, object?>)Assert.Single(ListAt(service, "spec.ports"))!;
        var containerPort = Named(ListAt(container, "ports"), (string)servicePort["targetPort"]!);
        Assert.Equal($"0.0.0.0:{containerPort["containerPort"]}", Env(container, "PVMD_LISTEN"));

        foreach (var (variable, key) in new[] { ("PVMD_TLS_CERT", "tls.crt"), ("PVMD_TLS_KEY", "tls.key"), ("PVMD_TLS_CLIENT_CA", "ca.crt") })
        {
            var file = Env(container, variable) ?? throw new Xunit.Sdk.XunitException($"{variable} is not set");
            Assert.Equal(key, Path.GetFileName(file));
            Assert.NotNull(At(VolumeHolding(daemonSet, file), "secret.secretName"));
        }
    }

    [Fact]
    public void Chart_WithDefaults_RendersWhatThePlainManifestsSay() =>
        AssertSameObjects(Objects("plain"), Objects("chart"));

    [Fact]
    public void Chart_WithTls_RendersWhatTheTlsOverlaySays() =>
        AssertSameObjects(Objects("plain+tls"), Objects("chart+tls"));

    /// <summary>The chart leaves the Namespace to `helm install --create-namespace`; every other
    /// object must match in name and content (labels aside: Helm adds its own).</summary>
    private static void AssertSameObjects(List<object> plain, List<object> chart)
    {
        var plainObjects = plain.Where(o => !Equals(At(o, "kind"), "Namespace")).ToList();
        Assert.Equal(
            plainObjects.Select(o => $"{At(o, "kind")}/{At(o, "metadata.name")}").Order(),
            chart.Select(o => $"{At(o, "kind")}/{At(o, "metadata.name")}").Order());
        foreach (var expected in plainObjects)
        {
            var actual = chart.Single(o => SameObject(o, expected));
            var left = (Dictionary<string, object?>)Clone(expected)!;
            var right = (Dictionary<string, object?>)Clone(actual)!;
            left.Remove("metadata");
            right.Remove("metadata");
            var differences = Differences(left, right);
            Assert.True(differences.Count == 0, $"{At(expected, "kind")}: plain != chart:\n{string.Join('\n', differences)}");
        }
    }

    [Fact]
    public void Versions_OfTheDaemonTheChartAndTheImageAgree()
    {
        var version = RepositoryFiles.Version;
        var chart = Load(RepositoryFiles.Read("deploy/helm/pvmd/Chart.yaml"));
        Assert.Equal(version, At(chart, "appVersion"));
        Assert.Equal(version, At(chart, "version"));
        var daemonSet = Single(Objects("plain"), "DaemonSet");
        Assert.Equal($"pvmd:{version}", PvmdContainer(daemonSet)["image"]);
        Assert.Equal(version, MapAt(daemonSet, "metadata.labels")["app.kubernetes.io/version"]);
    }

    [Fact]
    public void Containerfile_AgreesWithTheManifests()
    {
        var containerfile = RepositoryFiles.Read("deploy/container/Containerfile");
        var daemonSet = Single(Objects("plain"), "DaemonSet");
        var container = PvmdContainer(daemonSet);

        Assert.Contains($"ENTRYPOINT [\"{HealthCheckBinary}\"]", containerfile);
        Assert.Contains($"CMD [\"{HealthCheckBinary}\", \"--health-check\"]", containerfile);
        Assert.Contains($"PVMD_SOCKET={Env(container, "PVMD_SOCKET")}", containerfile);
        foreach (var mount in ListAt(container, "volumeMounts").OfType<Dictionary<string, object?>>())
        {
            if (mount.GetValueOrDefault("readOnly") is not true)
            {
                Assert.Contains($"\"{mount["mountPath"]}\"", Regex.Match(containerfile, "^VOLUME (.*)$", RegexOptions.Multiline).Groups[1].Value);
            }
        }
        // One ARG names the base, and it is the one FROM uses.
        Assert.Single(Regex.Matches(containerfile, "^ARG BASE_IMAGE=", RegexOptions.Multiline));
        Assert.Matches(new Regex(@"^FROM \$\{BASE_IMAGE\}$", RegexOptions.Multiline), containerfile);
        Assert.DoesNotMatch(new Regex("^RUN ", RegexOptions.Multiline), containerfile);
    }

    [Fact]
    public void Kustomization_ListsEveryManifestOfItsDirectory()
    {
        foreach (var directory in new[] { "deploy/kubernetes", "deploy/kubernetes/tls" })
        {
            var kustomization = Load(RepositoryFiles.Read($"{directory}/kustomization.yaml"));
            var named = ListAt(kustomization, "resources").Cast<string>()
                .Concat((At(kustomization, "patches") as List<object?> ?? []).Select(p => (string)At(p, "path")!))
                .ToHashSet();
            foreach (var file in Directory.GetFiles(RepositoryFiles.PathOf(directory), "*.yaml").Select(Path.GetFileName))
            {
                Assert.True(file == "kustomization.yaml" || named.Contains(file!), $"{directory}/{file} is not in its kustomization");
            }
        }
    }

    [Fact]
    public void ChartValues_AreAllUsedDefinedCommentedAndInTheReadme()
    {
        var templates = string.Concat(Directory.GetFiles(RepositoryFiles.PathOf("deploy/helm/pvmd/templates")).Select(File.ReadAllText));
        var used = ValueReference().Matches(templates).Select(m => m.Groups[1].Value).ToHashSet();
        var values = Chart().DefaultValues();
        var readme = RepositoryFiles.Read("deploy/helm/pvmd/README.md");
        var valuesText = RepositoryFiles.Read("deploy/helm/pvmd/values.yaml").Split('\n');

        foreach (var path in used)
        {
            Assert.True(At(values, path) is not null || HasKey(values, path), $".Values.{path} is used by a template but not in values.yaml");
            Assert.True(readme.Contains($"| `{path}` |", StringComparison.Ordinal), $".Values.{path} is not in the chart README's table");
        }
        foreach (var leaf in Leaves(values, ""))
        {
            Assert.True(used.Any(u => leaf == u || leaf.StartsWith(u + ".", StringComparison.Ordinal)), $"{leaf} in values.yaml is used by no template");
        }
        // Each value a template uses has a comment right above its line in values.yaml.
        var keys = new List<(int Indent, string Key)>();
        for (var i = 0; i < valuesText.Length; i++)
        {
            var key = Regex.Match(valuesText[i], @"^( *)([A-Za-z][A-Za-z0-9]*):");
            if (!key.Success)
            {
                continue;
            }
            var indent = key.Groups[1].Length;
            keys.RemoveAll(k => k.Indent >= indent);
            keys.Add((indent, key.Groups[2].Value));
            var dotted = string.Join('.', keys.Select(k => k.Key));
            if (used.Contains(dotted))
            {
                Assert.True(i > 0 && valuesText[i - 1].TrimStart().StartsWith('#'), $"values.yaml: {dotted} has no comment above it");
            }
        }
    }

    private static bool HasKey(Dictionary<string, object?> values, string path)
    {
        var parent = path.Contains('.') ? At(values, path[..path.LastIndexOf('.')]) : values;
        return parent is Dictionary<string, object?> map && map.ContainsKey(path[(path.LastIndexOf('.') + 1)..]);
    }

    private static IEnumerable<string> Leaves(object? node, string prefix) =>
        node is Dictionary<string, object?> { Count: > 0 } map
            ? map.SelectMany(kv => Leaves(kv.Value, prefix.Length == 0 ? kv.Key : $"{prefix}.{kv.Key}"))
            : [prefix];

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_.]+[A-Za-z0-9_])")]
    private static partial Regex ValueReference();
}
