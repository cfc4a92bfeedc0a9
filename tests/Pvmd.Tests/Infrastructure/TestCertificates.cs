using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pvmd.Tests.Infrastructure;

/// <summary>
/// A throwaway PKI for mutual-TLS tests, made at run time (nothing is committed): a CA, a
/// server certificate for 127.0.0.1/localhost, client certificates signed by the CA, and a
/// client certificate from a second CA the daemon does not trust. Written as PEM files in a
/// temporary directory for the daemon; kept as objects for the clients.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid s_clientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly List<X509Certificate2> _owned = [];
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("pvmd-pki-");
        Authority = CreateAuthority("CN=pvmd test CA");
        var rogue = CreateAuthority("CN=rogue CA");
        Server = Issue(Authority, "CN=localhost", server: true);
        Client = Issue(Authority, "CN=tester, O=pvmd tests", server: false);
        OtherClient = Issue(Authority, "CN=other, O=pvmd tests", server: false);
        RogueClient = Issue(rogue, "CN=tester, O=pvmd tests", server: false);
        ServerOnlyClient = Issue(Authority, "CN=wrong usage, O=pvmd tests", server: true);
        AuthorityPem = Write("ca.pem", Authority.ExportCertificatePem());
        ServerCertificatePem = Write("server.pem", Server.ExportCertificatePem());
        ServerKeyPem = Write("server.key", Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(ServerKeyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public DirectoryInfo Directory { get; }

    public X509Certificate2 Authority { get; }

    public X509Certificate2 Server { get; }

    /// <summary>Subject "CN=tester, O=pvmd tests", signed by the CA.</summary>
    public X509Certificate2 Client { get; }

    /// <summary>Subject "CN=other, O=pvmd tests", signed by the CA.</summary>
    public X509Certificate2 OtherClient { get; }

    /// <summary>The same subject as <see cref="Client"/>, signed by a CA the daemon does not trust.</summary>
    public X509Certificate2 RogueClient { get; }

    /// <summary>Signed by the CA, but its extended key usage is server authentication only.</summary>
    public X509Certificate2 ServerOnlyClient { get; }

    public string AuthorityPem { get; }

    public string ServerCertificatePem { get; }

    public string ServerKeyPem { get; }

    /// <summary>The daemon's switches for mutual TLS with these files.</summary>
    public IEnumerable<string> DaemonArguments => ["--tls-cert", ServerCertificatePem, "--tls-key", ServerKeyPem, "--tls-client-ca", AuthorityPem];

    /// <summary>Writes a client certificate and key as PEM files (for the CLI); returns the paths.</summary>
    public (string Certificate, string Key) WriteClient(X509Certificate2 certificate, string name)
    {
        var key = Write($"{name}.key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (Write($"{name}.pem", certificate.ExportCertificatePem()), key);
    }

    private X509Certificate2 CreateAuthority(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var certificate = request.CreateSelfSigned(_now.AddMinutes(-10), _now.AddDays(2));
        _owned.Add(certificate);
        return certificate;
    }

    private X509Certificate2 Issue(X509Certificate2 authority, string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([server ? s_serverAuth : s_clientAuth], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(authority, _now.AddMinutes(-5), _now.AddDays(1), serial);
        var certificate = issued.CopyWithPrivateKey(key);
        _owned.Add(certificate);
        return certificate;
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(Directory.FullName, name);
        File.WriteAllText(path, pem);
        return path;
    }

    public void Dispose()
    {
        _owned.ForEach(c => c.Dispose());
        Directory.Delete(recursive: true);
    }
}
