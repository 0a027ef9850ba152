"""The ``ssl`` module of the component: TLS is the host's.

CPython's ``ssl`` wraps OpenSSL, which this interpreter does not carry: it
has no sockets either, and every outgoing ``https://`` request goes through
the host's HTTP client, which does the TLS and checks the certificate
(``http.client``, ``urllib``, ``requests``, ``httpx``, ``pycomponent.http``).
Libraries still import ``ssl`` to name its types and to configure contexts
(anyio, httpx, urllib3, aiohttp), so this module has CPython's names: the
constants, the exceptions and an ``SSLContext`` that keeps its settings.
What would need TLS in this interpreter (``wrap_socket``, ``wrap_bio``,
``MemoryBIO``) raises ``SSLError`` saying so.
"""

import enum as _enum
import os as _os
import warnings as _warnings
from collections import namedtuple as _namedtuple

# urllib3 2 warns at import that this is not OpenSSL: true, and harmless,
# since the host's client makes its connections.
_warnings.filterwarnings("ignore", message="urllib3 v2 only supports OpenSSL")

OPENSSL_VERSION = "none: TLS is done by the host (pycomponent)"
OPENSSL_VERSION_INFO = (0, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0
_OPENSSL_API_VERSION = (0, 0, 0, 0, 0)

_NO_TLS = (
    "this interpreter has no TLS of its own: https:// requests go through the host's HTTP client "
    "(http.client, urllib, requests, httpx, pycomponent.http), which does the TLS"
)


class SSLError(OSError):
    """An error of TLS; here, also: TLS was asked of this interpreter."""

    library = None
    reason = None


class SSLZeroReturnError(SSLError):
    pass


class SSLWantReadError(SSLError):
    pass


class SSLWantWriteError(SSLError):
    pass


class SSLSyscallError(SSLError):
    pass


class SSLEOFError(SSLError):
    pass


class SSLCertVerificationError(SSLError, ValueError):
    verify_code = None
    verify_message = None


CertificateError = SSLCertVerificationError
socket_error = OSError


class _SSLMethod(_enum.IntEnum):
    PROTOCOL_TLS_CLIENT = 16
    PROTOCOL_TLS_SERVER = 17
    PROTOCOL_TLS = 2
    PROTOCOL_SSLv23 = 2
    PROTOCOL_TLSv1 = 3
    PROTOCOL_TLSv1_1 = 4
    PROTOCOL_TLSv1_2 = 5


class TLSVersion(_enum.IntEnum):
    MINIMUM_SUPPORTED = -2
    SSLv3 = 768
    TLSv1 = 769
    TLSv1_1 = 770
    TLSv1_2 = 771
    TLSv1_3 = 772
    MAXIMUM_SUPPORTED = -1


class Options(_enum.IntFlag):
    OP_ALL = 0x80000050
    OP_NO_SSLv2 = 0
    OP_NO_SSLv3 = 0x02000000
    OP_NO_TLSv1 = 0x04000000
    OP_NO_TLSv1_1 = 0x10000000
    OP_NO_TLSv1_2 = 0x08000000
    OP_NO_TLSv1_3 = 0x20000000
    OP_CIPHER_SERVER_PREFERENCE = 0x00400000
    OP_SINGLE_DH_USE = 0
    OP_SINGLE_ECDH_USE = 0
    OP_NO_COMPRESSION = 0x00020000
    OP_NO_TICKET = 0x00004000
    OP_NO_RENEGOTIATION = 0x40000000
    OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000
    OP_IGNORE_UNEXPECTED_EOF = 0x00000080
    OP_LEGACY_SERVER_CONNECT = 0x00000004
    OP_ENABLE_KTLS = 0x00000008


class VerifyMode(_enum.IntEnum):
    CERT_NONE = 0
    CERT_OPTIONAL = 1
    CERT_REQUIRED = 2


class VerifyFlags(_enum.IntFlag):
    VERIFY_DEFAULT = 0
    VERIFY_CRL_CHECK_LEAF = 0x4
    VERIFY_CRL_CHECK_CHAIN = 0xC
    VERIFY_X509_STRICT = 0x20
    VERIFY_X509_TRUSTED_FIRST = 0x8000
    VERIFY_ALLOW_PROXY_CERTS = 0x40
    VERIFY_X509_PARTIAL_CHAIN = 0x80000


class Purpose(_namedtuple("_ASN1Object", "nid shortname longname oid"), _enum.Enum):
    SERVER_AUTH = (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1")
    CLIENT_AUTH = (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2")


# The module-level names CPython's ssl has for each member.
globals().update(_SSLMethod.__members__)
globals().update(Options.__members__)
globals().update(VerifyMode.__members__)
globals().update(VerifyFlags.__members__)

HAS_SNI = HAS_ALPN = HAS_ECDH = HAS_NEVER_CHECK_COMMON_NAME = True
HAS_NPN = HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = False
HAS_TLSv1_2 = HAS_TLSv1_3 = True
CHANNEL_BINDING_TYPES = []

DefaultVerifyPaths = _namedtuple(
    "DefaultVerifyPaths", "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath"
)


def get_default_verify_paths():
    """No certificate store in the interpreter: the host's client verifies."""
    return DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")


class SSLContext:
    """A TLS configuration, kept as set. It is accepted where libraries
    pass one, and has no effect: the host's client verifies certificates
    with its own trust store."""

    def __init__(self, protocol=None, *args, **kwargs):
        self.protocol = _SSLMethod(PROTOCOL_TLS if protocol is None else protocol)
        client = self.protocol == PROTOCOL_TLS_CLIENT
        self.check_hostname = client
        self.verify_mode = CERT_REQUIRED if client else CERT_NONE
        self.options = OP_ALL | OP_NO_SSLv3 | OP_NO_COMPRESSION
        self.verify_flags = VERIFY_X509_TRUSTED_FIRST
        self.minimum_version = TLSVersion.MINIMUM_SUPPORTED
        self.maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self.post_handshake_auth = False
        self.keylog_filename = None
        self.sni_callback = None
        self.hostname_checks_common_name = False
        self.security_level = 0
        self._alpn_protocols = []
        self._ca_files = []

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        for path in (cafile, capath):
            if path is not None and not _os.path.exists(path):
                raise FileNotFoundError(2, "No such file or directory", path)
        self._ca_files.append(cafile or capath or "<cadata>")

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        # A client certificate would have to be presented by the host's client.
        raise SSLError(f"client certificates are not supported: {_NO_TLS}")

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        pass

    def set_default_verify_paths(self):
        pass

    def set_ciphers(self, ciphers):
        pass

    def get_ciphers(self):
        return []

    def set_alpn_protocols(self, protocols):
        self._alpn_protocols = list(protocols)

    def set_npn_protocols(self, protocols):
        pass

    def set_ecdh_curve(self, name):
        pass

    def set_servername_callback(self, callback):
        self.sni_callback = callback

    def cert_store_stats(self):
        return {"x509": 0, "crl": 0, "x509_ca": 0}

    def get_ca_certs(self, binary_form=False):
        return []

    def session_stats(self):
        return {}

    def wrap_socket(self, sock, *args, **kwargs):
        raise SSLError(_NO_TLS)

    def wrap_bio(self, incoming, outgoing, *args, **kwargs):
        raise SSLError(_NO_TLS)


class SSLSocket:
    """The type of a TLS socket; none can be made here."""

    def __init__(self, *args, **kwargs):
        raise SSLError(_NO_TLS)


class SSLObject(SSLSocket):
    """The type of an in-memory TLS connection; none can be made here."""


class MemoryBIO:
    def __init__(self, *args, **kwargs):
        raise SSLError(_NO_TLS)


class SSLSession:
    pass


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """A context with CPython's defaults for ``purpose``."""
    context = SSLContext(PROTOCOL_TLS_CLIENT if purpose == Purpose.SERVER_AUTH else PROTOCOL_TLS_SERVER)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    return context


def _create_unverified_context(protocol=None, *, cert_reqs=CERT_NONE, check_hostname=False, purpose=Purpose.SERVER_AUTH, certfile=None, keyfile=None, cafile=None, capath=None, cadata=None):
    context = SSLContext(PROTOCOL_TLS_CLIENT if protocol is None else protocol)
    context.check_hostname = check_hostname
    context.verify_mode = cert_reqs
    return context


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def wrap_socket(sock, *args, **kwargs):
    raise SSLError(_NO_TLS)


def match_hostname(cert, hostname):
    raise CertificateError(f"hostname {hostname!r} cannot be matched here: {_NO_TLS}")


def RAND_bytes(n):
    return _os.urandom(n)


def RAND_status():
    return True


def RAND_add(data, entropy):
    pass


def DER_cert_to_PEM_cert(der_cert_bytes):
    import base64
    import textwrap

    body = textwrap.fill(base64.standard_b64encode(der_cert_bytes).decode("ascii"), 64)
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def PEM_cert_to_DER_cert(pem_cert_string):
    import base64

    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    text = pem_cert_string.strip()
    if not (text.startswith(begin) and text.endswith(end)):
        raise ValueError(f"Invalid PEM encoding; must start with {begin!r} and end with {end!r}")
    return base64.decodebytes(text[len(begin) : -len(end)].encode("ascii"))


def cert_time_to_seconds(cert_time):
    import calendar
    import time

    return calendar.timegm(time.strptime(cert_time, "%b %d %H:%M:%S %Y GMT"))
