"""What a server's certificate says, and why the configured trust refused it (pure, given
the certificates).

A chain that fails verification is read once more without verification, only to name its
issuer: whether a public CA (one of certifi's, the bundle httpx trusts by default) is at
its top tells interception or a private CA apart from a bundle that lacks a public root.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..network.origins import is_loopback

if TYPE_CHECKING:
    from cryptography import x509

    from ..settings.fields import AnacondaAuthSettings

__all__ = ["Chain", "describe_trust", "explain_verify_failure", "parse_chain", "peer_chain"]


@dataclass(frozen=True)
class Chain:
    """The certificates a server sent, leaf first, and what they say."""

    certificates: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        """The server's own certificate."""
        return self.certificates[0]

    @property
    def issuer(self) -> str:
        """The leaf's issuer as ``'CN' (O)``."""
        return name_of(self.leaf.issuer)

    @property
    def top_issuer(self) -> str:
        """The issuer of the last certificate sent: the CA the chain leads to."""
        return name_of(self.certificates[-1].issuer)

    @property
    def public(self) -> bool:
        """Whether the chain leads to a CA in certifi's public bundle."""
        roots = public_roots()
        return any(c.issuer in roots or c.subject in roots for c in self.certificates)


def name_of(name: x509.Name) -> str:
    """``'common name' (organization)``, or the whole name when it has neither."""
    from cryptography.x509.oid import NameOID

    common = [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    org = [a.value for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if not common and not org:
        return name.rfc4514_string() or "(no name)"
    label = f"'{common[0]!s}'" if common else f"'{org[0]!s}'"
    return f"{label} ({org[0]!s})" if common and org else label


@functools.cache
def public_roots() -> frozenset[x509.Name]:
    """The subjects of certifi's CA bundle (Mozilla's public roots)."""
    try:
        import certifi
        from cryptography import x509

        with open(certifi.where(), "rb") as fp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a root with a non-positive serial number
            return frozenset(c.subject for c in x509.load_pem_x509_certificates(fp.read()))
    except (ImportError, OSError, ValueError):
        return frozenset()


def parse_chain(ders: Sequence[bytes]) -> Chain | None:
    """The chain from DER certificates, leaf first; None when there is none or it is bad."""
    from cryptography import x509

    try:
        certificates = tuple(x509.load_der_x509_certificate(d) for d in ders)
    except ValueError:
        return None
    return Chain(certificates) if certificates else None


def peer_chain(ssl_object: Any) -> list[bytes]:
    """The DER certificates the peer sent (unverified), leaf first; [] when unknown."""
    get = getattr(ssl_object, "get_unverified_chain", None)  # Python 3.13
    if get is None:
        get = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    chain = get() if callable(get) else None
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        return [leaf] if leaf else []
    der = getattr(ssl, "ENCODING_DER", 2)  # _ssl.ENCODING_DER; not in the stubs
    return [c if isinstance(c, bytes) else c.public_bytes(der) for c in chain]


def describe_trust(settings: AnacondaAuthSettings) -> str:
    """The trust in use, for a message: which CA bundle or store, and where it was set."""
    value = settings.ssl_verify
    source = settings.source_of("ssl_verify")
    if value is True:
        cert_file = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")
        if cert_file:
            return f"the CA bundle {cert_file} (from SSL_CERT_FILE/SSL_CERT_DIR)"
        return "the default public CA bundle (certifi)"
    if value == "truststore":
        return f"the system's certificate store (truststore; ssl_verify from {source})"
    if value is False:
        return "no verification (ssl_verify is false)"
    return f"the CA bundle {value} (ssl_verify from {source})"


def explain_verify_failure(
    host: str, error: ssl.SSLCertVerificationError, chain: Chain | None, trust: str
) -> tuple[str, str]:
    """``(summary, fix)`` for a certificate that the configured trust refused."""
    reason = str(error.verify_message or error.reason or "certificate verify failed")
    code = error.verify_code
    issued = f"issued by {chain.issuer}" if chain is not None else "issuer unknown"
    if code == 62 or "mismatch" in reason.lower():  # X509_V_ERR_HOSTNAME_MISMATCH
        names = _names(chain) if chain is not None else "other names"
        return (
            f"The TLS certificate of {host} is for {names}, not {host} ({issued})",
            "check the domain settings ('anaconda-auth status' lists them) and any proxy or "
            "captive portal in the way",
        )
    if code in (9, 10):  # not yet valid, expired
        when = _validity(chain)
        return (
            f"The TLS certificate of {host} {reason} ({when}); {issued}",
            "check this computer's clock (see the clock check); if it is right, the server's "
            "certificate is at fault: try again later",
        )
    if chain is not None and chain.public:
        return (
            f"The TLS certificate of {host} is {issued}, a public CA, but {trust} does not "
            f"trust it ({reason})",
            "unset ssl_verify (ANACONDA_AUTH_SSL_VERIFY) to use the public CAs, or add them to "
            "that bundle",
        )
    private = _private_host(host)
    looks = (
        "a private CA (a test or company server's own)"
        if private
        else "a private CA: this looks like TLS interception by a company proxy, firewall "
        "or antivirus"
    )
    top = (
        f", which leads to {chain.top_issuer}"
        if chain is not None and len(chain.certificates) > 1
        else ""
    )
    return (
        f"The TLS certificate of {host} ({issued}{top}) is not from a public CA that "
        f"{trust} knows ({reason}): {looks}",
        "set ANACONDA_AUTH_SSL_VERIFY to the path of that CA's certificate (a PEM bundle; "
        "your IT team has it), or to 'truststore' to use the system's store if IT installed "
        "it there; do not turn verification off",
    )


def _names(chain: Chain) -> str:
    from cryptography import x509

    try:
        san = chain.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return name_of(chain.leaf.subject)
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def _validity(chain: Chain | None) -> str:
    if chain is None:
        return "validity unknown"
    leaf = chain.leaf
    start = leaf.not_valid_before_utc.strftime("%Y-%m-%d %H:%M")
    end = leaf.not_valid_after_utc.strftime("%Y-%m-%d %H:%M")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    return f"valid {start} to {end} UTC; this computer says {now}"


def _private_host(host: str) -> bool:
    if is_loopback(host) or host.endswith((".local", ".internal", ".lan", ".corp")):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_private
    except ValueError:
        return "." not in host
