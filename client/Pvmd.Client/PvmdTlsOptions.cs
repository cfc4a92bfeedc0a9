using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pvmd.Client;

/// <summary>Mutual TLS to a daemon on TCP: the client certificate the daemon identifies the
/// caller by, and the authorities that may sign the daemon's own certificate.</summary>
public sealed record PvmdTlsOptions
{
    /// <summary>The client certificate, with its private key. The daemon requires one on TCP:
    /// its subject is the caller's identity in the daemon's policy.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The only authorities trusted to sign the daemon's certificate; null trusts the
    /// system's store instead.</summary>
    public X509Certificate2Collection? TrustedAuthorities { get; init; }

    /// <summary>Loads PEM files: a certificate and its key, and optionally a CA bundle.</summary>
    /// <param name="certificatePath">The client certificate (PEM); null for none.</param>
    /// <param name="keyPath">Its private key (PEM); null when the certificate file holds it.</param>
    /// <param name="authoritiesPath">A CA bundle (PEM) for the daemon's certificate; null for the system store.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">A file is missing or not what it should be.</exception>
    public static PvmdTlsOptions FromPemFiles(string? certificatePath, string? keyPath, string? authoritiesPath)
    {
        try
        {
            X509Certificate2? certificate = null;
            if (certificatePath is not null)
            {
                certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            }
            X509Certificate2Collection? authorities = null;
            if (authoritiesPath is not null)
            {
                authorities = [];
                authorities.ImportFromPemFile(authoritiesPath);
                if (authorities.Count == 0)
                {
                    throw new ArgumentException($"{authoritiesPath} holds no certificate.");
                }
            }
            return new PvmdTlsOptions { ClientCertificate = certificate, TrustedAuthorities = authorities };
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Cannot load the TLS files ({certificatePath ?? "no certificate"}, {keyPath ?? "no key"}, {authoritiesPath ?? "system CAs"}): {e.Message}", e);
        }
    }

    /// <summary>The client side of the handshake: present the certificate, and check the
    /// daemon's against <see cref="TrustedAuthorities"/> when given.</summary>
    internal SslClientAuthenticationOptions ToSslOptions()
    {
        var ssl = new SslClientAuthenticationOptions();
        if (ClientCertificate is not null)
        {
            ssl.ClientCertificates = [ClientCertificate];
        }
        if (TrustedAuthorities is { } authorities)
        {
            ssl.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            ssl.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        }
        return ssl;
    }
}
