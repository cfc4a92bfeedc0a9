using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Pvmd.Server.Security;

/// <summary>
/// TLS for the TCP listener: the server certificate and key (PEM), and mutual TLS: every
/// client presents a certificate that chains to the configured CA bundle (and only to it: the
/// system's trust store plays no part) and is valid for client authentication. The handshake
/// fails for anyone else, so no unauthenticated TCP caller reaches the gRPC layer.
/// </summary>
public sealed class TransportSecurity
{
    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    private TransportSecurity(X509Certificate2 serverCertificate, X509Certificate2Collection authorities)
    {
        ServerCertificate = serverCertificate;
        Authorities = authorities;
    }

    public X509Certificate2 ServerCertificate { get; }

    public X509Certificate2Collection Authorities { get; }

    public string AuthoritiesDescription => string.Join("; ", Authorities.Select(a => a.Subject));

    /// <summary>Loads the PEM files.</summary>
    /// <exception cref="InvalidOperationException">A file is missing or not what it should be
    /// (the message names it).</exception>
    public static TransportSecurity Load(SecurityOptions options)
    {
        X509Certificate2 server;
        try
        {
            server = X509Certificate2.CreateFromPemFile(options.TlsCert!, options.TlsKey!);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"cannot load --tls-cert {options.TlsCert} with --tls-key {options.TlsKey}: {e.Message}");
        }
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(options.TlsClientCa!);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot load --tls-client-ca {options.TlsClientCa}: {e.Message}");
        }
        if (authorities.Count == 0)
        {
            throw new InvalidOperationException($"--tls-client-ca {options.TlsClientCa} holds no certificate");
        }
        return new TransportSecurity(server, authorities);
    }

    /// <summary>TLS 1.2 or 1.3 with a required, CA-checked client certificate.</summary>
    public void Configure(ListenOptions listen, ILogger logger)
    {
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = ServerCertificate,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CheckCertificateRevocation = false,
            ClientCertificateValidation = (certificate, _, _) => Validate(certificate, logger),
        });
    }

    /// <summary>Whether the certificate chains to one of the configured authorities and may
    /// authenticate a client. The platform's verdict (against the system trust store) is
    /// ignored on purpose: only the configured CA counts.</summary>
    public bool Validate(X509Certificate2 certificate, ILogger? logger = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        chain.ChainPolicy.DisableCertificateDownloads = true;
        var valid = chain.Build(certificate);
        if (!valid && logger is not null)
        {
            var errors = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
            SecurityLog.ClientCertificateRefused(logger, certificate.Subject, errors);
        }
        return valid;
    }
}
