"""A loopback smart-HTTP(S) git server for tests: the real `git http-backend` behind Python.

Tests of the git backend (`pkg/externalrepo/git`), the server's end-to-end tests and the
porchctl golden tests start one `GitServer` per test (or module) to get a real remote that
libgit2 (pygit2), the git CLI and kpt all speak to. Several bare repositories live under one
root, e.g. `<root>/nephio/porch-test.git` is served at `<url>/nephio/porch-test.git`.

Why not `http.server.CGIHTTPRequestHandler`: its HTTP/1.0 replies are read to EOF, which the
git CLI accepts but libgit2 does not ("could not read refs from remote repository"), and as
root it switches to `nobody` (git then refuses the "dubious ownership" repositories). This
handler runs the CGI itself, answers HTTP/1.1 with a Content-Length, and de-chunks request
bodies (libgit2 sends pushes with `Transfer-Encoding: chunked`; the CGI needs a length).

Optional HTTP basic auth and/or a bearer token guard every request (401 otherwise), optional
TLS serves https. Every request is recorded (method, path, the Authorization scheme) so tests
can assert what a client sent. Only the git CLI is used here: this is test tooling.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hmac
import http.server
import io
import ipaddress
import logging
import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import threading
import urllib.parse
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "GitServer",
    "RequestRecord",
    "TlsFiles",
    "git",
    "make_self_signed_cert",
]

_log = logging.getLogger(__name__)

# Environment passed to `git http-backend` (and nothing else of ours): receive-pack enabled
# for anonymous pushes, any repository owner accepted, no user/system config interfering.
_BACKEND_CONFIG = {
    "http.receivepack": "true",
    "safe.directory": "*",
    "uploadpack.allowAnySHA1InWant": "true",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP request the server answered."""

    method: str
    path: str
    query: str
    auth_scheme: str  # "" (none), "Basic" or "Bearer"
    status: int


@dataclasses.dataclass(frozen=True, slots=True)
class TlsFiles:
    """A PEM certificate (self-signed, so it is also its own CA) and its private key."""

    cert: Path
    key: Path


def make_self_signed_cert(directory: Path) -> TlsFiles:
    """Write a self-signed certificate valid for `localhost` and `127.0.0.1` into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(cert=directory / "tls.crt", key=directory / "tls.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def git(*args: str | Path, cwd: Path | None = None, check: bool = True) -> str:
    """Run the git CLI with a neutral identity and config; return stdout."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_TERMINAL_PROMPT": "0",
    }
    result = subprocess.run(
        ["git", *(str(a) for a in args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(str(a) for a in args)} failed ({result.returncode}): {result.stderr}"
        )
    return result.stdout


class GitServer:
    """Serves every bare repository under `root` over loopback HTTP(S).

    Use as a context manager (or `start()`/`stop()`); `url` is known once started.
    """

    def __init__(
        self,
        root: Path,
        *,
        basic_auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.root = root
        self.basic_auth = basic_auth
        self.bearer_token = bearer_token
        self.tls = tls
        self._requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        root.mkdir(parents=True, exist_ok=True)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        handler = _handler_class(self)
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(
            # A short poll interval makes stop() quick (the default waits up to 0.5 s).
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="git-http-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> GitServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234` (https with TLS)."""
        if self._httpd is None:
            raise RuntimeError("GitServer is not started")
        port = self._httpd.server_address[1]
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{port}"

    def repo_url(self, name: str) -> str:
        """URL of the repository `<root>/<name>`."""
        return f"{self.url}/{name}"

    def path(self, name: str) -> Path:
        """Filesystem path of the bare repository `<root>/<name>`."""
        return self.root / name

    # -- repositories ----------------------------------------------------------------
    def create_empty(self, name: str, *, branch: str = "main") -> Path:
        """Create an empty bare repository whose HEAD names `branch`."""
        path = self.path(name)
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", path)
        return path

    def create_from_bundle(self, name: str, bundle: Path) -> Path:
        """Clone a git bundle into a new bare repository (no remote left behind)."""
        path = self.path(name)
        git("clone", "--quiet", "--bare", bundle, path)
        git("--git-dir", path, "remote", "remove", "origin")
        return path

    def create_from_tar(self, name: str, archive: Path, *, branch: str = "main") -> Path:
        """Unpack a tar of a `.git` directory (Porch's test repositories) as a bare repository.

        With `branch` other than `main`, the `main` branch is renamed (as Porch's tests do to
        exercise repositories registered on another branch).
        """
        path = self.path(name)
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(os.path.join(tmp, ".git"), path)
        git("--git-dir", path, "config", "core.bare", "true")
        if branch != "main":
            git("--git-dir", path, "branch", "-m", "main", branch)
            git("--git-dir", path, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return path

    def install_hook(self, name: str, hook: str, script: str) -> None:
        """Install an executable hook (e.g. `pre-receive`) in a served repository."""
        hook_path = self.path(name) / "hooks" / hook
        hook_path.parent.mkdir(parents=True, exist_ok=True)
        hook_path.write_text(script)
        hook_path.chmod(0o755)

    def refs(self, name: str) -> dict[str, str]:
        """All refs of a served repository, name -> object id (as `git for-each-ref`)."""
        out = git("--git-dir", self.path(name), "for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    # -- request log -----------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def _authorized(self, header: str | None) -> tuple[bool, str]:
        """(allowed, scheme) for an Authorization header value."""
        if header is None:
            return (self.basic_auth is None and self.bearer_token is None), ""
        scheme, _, value = header.partition(" ")
        if scheme == "Basic" and self.basic_auth is not None:
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return False, scheme
            expected_user, expected_password = self.basic_auth
            ok = hmac.compare_digest(user, expected_user) and hmac.compare_digest(
                password, expected_password
            )
            return ok, scheme
        if scheme == "Bearer" and self.bearer_token is not None:
            return hmac.compare_digest(value, self.bearer_token), scheme
        if self.basic_auth is None and self.bearer_token is None:
            return True, scheme
        return False, scheme


def _read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """Read an HTTP/1.1 chunked body from a file-like object."""
    body = bytearray()
    while True:
        size_line = rfile.readline()
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # Trailers (rare) end with an empty line.
            while rfile.readline().strip():
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline()  # CRLF after each chunk


def _handler_class(server: GitServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            _log.debug("git-http: " + format, *args)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            allowed, scheme = server._authorized(self.headers.get("Authorization"))
            if not allowed:
                self._reply(401, {"WWW-Authenticate": 'Basic realm="git"'}, b"unauthorized\n")
                server._record(RequestRecord(self.command, parsed.path, parsed.query, scheme, 401))
                return
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(server.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": urllib.parse.unquote(parsed.path),
                "QUERY_STRING": parsed.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": server.basic_auth[0] if server.basic_auth else "anonymous",
                "GIT_CONFIG_COUNT": str(len(_BACKEND_CONFIG)),
            }
            for i, (key, value) in enumerate(_BACKEND_CONFIG.items()):
                env[f"GIT_CONFIG_KEY_{i}"] = key
                env[f"GIT_CONFIG_VALUE_{i}"] = value
            for header, variable in (
                ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
                ("Git-Protocol", "GIT_PROTOCOL"),
            ):
                if (header_value := self.headers.get(header)) is not None:
                    env[variable] = header_value
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            if result.stderr:
                _log.debug("git http-backend: %s", result.stderr.decode(errors="replace"))
            head, sep, payload = result.stdout.partition(b"\r\n\r\n")
            if not sep:
                head, sep, payload = result.stdout.partition(b"\n\n")
            status = 200
            headers: dict[str, str] = {}
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split(" ", 1)[0])
                elif name:
                    headers[name.strip()] = value.strip()
            if not sep:
                status, payload = 500, result.stderr or b"git http-backend failed\n"
            self._reply(status, headers, payload)
            server._record(RequestRecord(self.command, parsed.path, parsed.query, scheme, status))

        def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
