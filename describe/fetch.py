"""HTTP for URLs that come from clients: downloads and callbacks, guarded against SSRF.

Only http and https. Every address a host name resolves to is checked before connecting, and
the connection goes to the checked address itself (not to a second, possibly different, DNS
answer), so a rebinding name cannot slip through. Redirects are followed by hand and every hop
is checked again. Downloads stream to disk with a size limit and an overall time limit.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

CHUNK = 1 << 16
REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "videoanalyzer-describe/1"
VIDEO_TYPES = {
    "application/octet-stream",
    "binary/octet-stream",
    "application/mp4",
    "application/x-matroska",
    "application/ogg",
    "application/x-msvideo",
    "application/x-flv",
    "application/mxf",
}
SUBTITLE_REFUSED_MAIN_TYPES = {"video", "audio", "image", "font", "model"}


class FetchError(Exception):
    """A URL could not be fetched or was refused; the message says why, for the client."""


class ConnectionRefused(FetchError):
    """Every address of the host refused the connection: nothing listens there."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    content_type: str
    final_url: str


def parse_url(url: str) -> Target:
    """Split ``url`` into what a request needs, refusing anything but plain http(s) URLs."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"The URL '{url[:200]}' is not valid: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        scheme = parts.scheme or url[:50]
        raise FetchError(f"Only http and https URLs are accepted, not '{scheme}'.")
    if not parts.hostname:
        raise FetchError(f"The URL '{url[:200]}' has no host name.")
    if parts.username or parts.password:
        raise FetchError("URLs with a user name or password in them are not accepted.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path)


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` must not be contacted from the server (None for a public address)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    for attribute, kind in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_private", "a private"),
        ("is_multicast", "a multicast"),
        ("is_unspecified", "an unspecified"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "a non-public"


def resolve(target: Target, allow_private: bool) -> list[str]:
    """The addresses to connect to, each checked; raises FetchError naming a refused one."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host name '{target.host}' could not be resolved ({exc}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address.split("%")[0]))
            if problem:
                raise FetchError(
                    f"Refused to fetch from '{target.host}': it resolves to {address}, "
                    f"{problem} address (private, loopback and link-local addresses are not "
                    "allowed; see DESCRIBE_ALLOW_PRIVATE_URLS)."
                )
    if not addresses:
        raise FetchError(f"The host name '{target.host}' has no address.")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, keeping the host name for the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is still verified against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _connect(target: Target, allow_private: bool, timeout: float) -> http.client.HTTPConnection:
    errors: list[str] = []
    for address in resolve(target, allow_private):
        cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        conn = cls(target.host, target.port, address, timeout)
        try:
            conn.connect()
            return conn
        except ConnectionRefusedError:
            errors.append(f"{address}: connection refused")
        except TimeoutError:
            errors.append(f"{address}: timed out")
        except ssl.SSLError as exc:
            errors.append(f"{address}: TLS error ({exc.reason or exc})")
        except OSError as exc:
            errors.append(f"{address}: {exc.strerror or exc}")
        conn.close()
    message = f"Could not connect to {target.netloc} ({'; '.join(errors)})."
    if all(error.endswith("connection refused") for error in errors):
        raise ConnectionRefused(message)
    raise FetchError(message)


@contextmanager
def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_redirects: int = 5,
) -> Iterator[tuple[http.client.HTTPResponse, str]]:
    """Send one request (following redirects for GET); yields the response and its final URL."""
    current = url
    for _hop in range(max_redirects + 1):
        target = parse_url(current)
        conn = _connect(target, allow_private, timeout)
        try:
            send_headers = {"Host": target.netloc, "User-Agent": USER_AGENT, **(headers or {})}
            try:
                conn.request(method, target.path, body=body, headers=send_headers)
                response = conn.getresponse()
            except TimeoutError:
                raise FetchError(f"{target.netloc} did not answer in time.") from None
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(f"The request to {target.netloc} failed: {exc}.") from None
            location = response.getheader("Location")
            if method == "GET" and response.status in REDIRECTS and location:
                current = urljoin(current, location)
                continue
            yield response, current
            return
        finally:
            conn.close()
    raise FetchError(f"More than {max_redirects} redirects starting at {url[:200]}.")


def _media_type(response: http.client.HTTPResponse) -> str:
    return (response.getheader("Content-Type") or "").split(";")[0].strip().lower()


def check_content_type(content_type: str, kind: str) -> None:
    """Refuse a response that says it is something else than a video (or subtitles)."""
    if not content_type:
        return  # many servers send none: the container check decides
    main = content_type.split("/")[0]
    if kind == "video":
        if main == "video" or content_type in VIDEO_TYPES:
            return
        raise FetchError(f"The video URL returned '{content_type}', not a video.")
    if main in SUBTITLE_REFUSED_MAIN_TYPES:
        raise FetchError(f"The subtitles URL returned '{content_type}', not subtitles.")


def download(
    url: str,
    dest: Path,
    *,
    kind: str,
    max_bytes: int,
    allow_private: bool,
    timeout: float,
    connect_timeout: float,
    max_redirects: int = 5,
    stall: Stall | None = None,
) -> Downloaded:
    """Stream ``url`` into ``dest``; ``kind`` ("video" or "subtitles") names it in errors.

    Raises:
        FetchError: refused address, HTTP error, wrong content type, too large, too slow,
            stalled (fewer than ``stall.min_bytes`` bytes in ``stall.seconds``).
    """
    deadline = time.monotonic() + timeout
    with request(
        url, allow_private=allow_private, timeout=connect_timeout, max_redirects=max_redirects
    ) as (response, final_url):
        if response.status >= 400:
            raise FetchError(
                f"The {kind} URL answered HTTP {response.status} {response.reason}: {url[:200]}"
            )
        if response.status != 200:
            raise FetchError(f"The {kind} URL answered HTTP {response.status}, expected 200.")
        content_type = _media_type(response)
        check_content_type(content_type, kind)
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError(_too_large(kind, max_bytes))
        size = _stream(response, dest, kind, max_bytes, deadline, stall or Stall())
    if size == 0:
        raise FetchError(f"The {kind} URL returned an empty file.")
    return Downloaded(dest, size, content_type, final_url)


def _too_large(kind: str, max_bytes: int) -> str:
    return f"The {kind} is larger than the limit of {max_bytes} bytes."


@dataclass(frozen=True)
class Stall:
    """A download is stalled when fewer than ``min_bytes`` arrive in ``seconds``: a server
    dribbling a byte every few seconds never trips the socket's read timeout, yet would hold
    a worker for the whole download time limit."""

    seconds: float = 30.0
    min_bytes: int = 16 * 1024


class _Progress:
    def __init__(self, stall: Stall, deadline: float) -> None:
        self.stall, self.deadline = stall, deadline
        self.window_start, self.window_bytes = time.monotonic(), 0

    def check(self, received: int, kind: str) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise FetchError(f"Downloading the {kind} took longer than allowed.")
        self.window_bytes += received
        if now - self.window_start < self.stall.seconds:
            return
        if self.window_bytes < self.stall.min_bytes:
            raise FetchError(
                f"The {kind} download stalled: {self.window_bytes} bytes in the last "
                f"{now - self.window_start:.0f} s."
            )
        self.window_start, self.window_bytes = now, 0


def _stream(
    response: http.client.HTTPResponse,
    dest: Path,
    kind: str,
    max_bytes: int,
    deadline: float,
    stall: Stall,
) -> int:
    partial = dest.with_name(dest.name + ".part")
    progress = _Progress(stall, deadline)
    size = 0
    try:
        with partial.open("wb") as out:
            while True:
                progress.check(0, kind)
                try:
                    # read1: whatever has arrived, so the checks run between slow bytes too
                    block = response.read1(CHUNK)
                except TimeoutError:
                    raise FetchError(f"The {kind} download stalled.") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise FetchError(f"The {kind} download broke off: {exc}.") from None
                if not block:
                    break
                progress.check(len(block), kind)
                size += len(block)
                if size > max_bytes:
                    raise FetchError(_too_large(kind, max_bytes))
                out.write(block)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return size
