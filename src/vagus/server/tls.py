"""HTTPS for `vagus serve`: browsers give the microphone only to secure pages (https://, or
http://localhost), so a server opened from another machine needs TLS.

`--tls-cert FILE --tls-key FILE` serves with your certificate (from your CA, or Let's Encrypt).
`--tls-self-signed` makes a certificate for this run (ECDSA P-256, the `cryptography` library) naming
the host, `localhost`, 127.0.0.1 and this machine's name; browsers warn about it once, and the
fingerprint printed at start lets you check that the warning is about this server. Its key lives in
a private temporary folder that is removed when the server stops.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

SELF_SIGNED_DAYS = 30


class TlsError(ValueError):
    """The certificate or key cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class SelfSigned:
    cert: Path
    key: Path
    fingerprint: str
    """SHA-256 of the certificate, as browsers show it (AA:BB:…)."""
    folder: Path

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def make_self_signed(host: str, days: int = SELF_SIGNED_DAYS) -> SelfSigned:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for name in {host, socket.gethostname()}:
        if not name or name in ("0.0.0.0", "::", "localhost"):
            continue
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vagus (self-signed)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="vagus-tls-"))  # mode 0700
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return SelfSigned(cert_path, key_path, fingerprint, folder)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context; TlsError names the file that does not work."""
    for path, what in ((cert, "certificate"), (key, "key")):
        if not Path(path).is_file():
            raise TlsError(f"the TLS {what} file {path} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        raise TlsError(f"the TLS certificate {cert} and key {key} cannot be used together: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise TlsError(f"cannot read the TLS certificate {cert} or key {key}: {exc}") from None
    return context
