"""A throwaway PostgreSQL with TLS, shaped like the LiteLLM database, for restore tests.

The cluster lives in one directory: the data directory, a test CA and a
server certificate whose SANs cover localhost, 127.0.0.1 and the emulator's
RDS endpoint names, password files, and the server log. Clients connect over
TLS only (hostssl, scram-sha-256); the Unix socket in that directory, which
only the server's user can reach, is used for setup. PostgreSQL refuses to
run as root, so as root the server runs as the system user `drctl-pg`,
created on first use.
"""

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import threading
import sys
from dataclasses import dataclass
from pathlib import Path

from . import litellm_schema

SERVER_USER = "drctl-pg"
DATABASE = "litellm"
OWNER_ROLE = "litellm_owner"
RESTORE_ROLE = "drctl_restore"


@dataclass
class PgServer:
    directory: Path
    host: str
    port: int
    database: str
    owner_user: str
    owner_password: str
    user: str
    password: str
    ca_file: Path
    run_as: str | None
    watchdog: subprocess.Popen | None = None

    def dsn(self) -> str:
        return (f"host={self.host} port={self.port} dbname={self.database} user={self.user} "
                f"sslmode=verify-full sslrootcert={self.ca_file}")

    def to_json(self) -> dict:
        return {"directory": str(self.directory), "host": self.host, "port": self.port,
                "database": self.database, "user": self.user, "password": self.password,
                "password_file": str(self.directory / "restore.password"),
                "owner_user": self.owner_user, "owner_password": self.owner_password,
                "ca_file": str(self.ca_file), "dsn": self.dsn(), "pid": self.postmaster_pid()}

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.directory / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self.watchdog is not None:
            self.watchdog.terminate()
        stop_directory(self.directory, self.run_as)


def _as_user(run_as: str | None, command: list[str]) -> list[str]:
    return ["runuser", "-u", run_as, "--"] + command if run_as else command


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"command {' '.join(command)} failed with exit code {result.returncode}: "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def _server_user() -> str | None:
    """Return the user to run the server as, creating it when running as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER])
    return SERVER_USER


def _ensure_traversable(directory: Path) -> None:
    """Let the server user reach `directory`, e.g. a root-owned 0700 temporary directory."""
    mode = directory.stat().st_mode
    if directory.stat().st_uid == os.geteuid() and not mode & 0o001:
        os.chmod(directory, mode | 0o011)
    for ancestor in directory.parents:
        if not ancestor.stat().st_mode & 0o001:
            raise RuntimeError(f"{ancestor} is not searchable by other users, so {SERVER_USER} cannot reach "
                               f"the PostgreSQL directory below it; choose a directory under /tmp")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _certificates(directory: Path, suffixes: dict) -> None:
    """Create a test CA and a server certificate signed by it, with openssl."""
    names = ["DNS:localhost", "IP:127.0.0.1"]
    for region, suffix in suffixes.items():
        names += [f"DNS:*.cluster-{suffix}.{region}.rds.amazonaws.com",
                  f"DNS:*.cluster-ro-{suffix}.{region}.rds.amazonaws.com",
                  f"DNS:*.{suffix}.{region}.rds.amazonaws.com"]
    ext = directory / "server.ext"
    ext.write_text(f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n"
                   "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    d = str(directory)
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256",
          "-subj", "/CN=drctl estate test CA", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
          "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr"])
    _run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
          "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(ext), "-out", f"{d}/server.crt"])
    os.chmod(directory / "server.key", 0o600)
    os.chmod(directory / "ca.key", 0o600)


def start(directory: str, rds_endpoint_suffixes: dict) -> PgServer:
    """Create and start a new cluster in `directory`, which must be empty or missing."""
    for tool in ("initdb", "pg_ctl", "postgres", "psql", "openssl"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH; install PostgreSQL server binaries and openssl")
    base = Path(directory).resolve()
    base.mkdir(parents=True, exist_ok=True)
    if any(base.iterdir()):
        raise RuntimeError(f"PostgreSQL directory {base} is not empty; remove it or choose another")
    run_as = _server_user()
    if run_as:
        _ensure_traversable(base.parent)
    _certificates(base, rds_endpoint_suffixes)

    superuser_password = secrets.token_urlsafe(18)
    owner_password = secrets.token_urlsafe(18)
    restore_password = secrets.token_urlsafe(18)
    (base / "superuser.password").write_text(superuser_password + "\n")
    (base / "restore.password").write_text(restore_password + "\n")
    (base / "owner.password").write_text(owner_password + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in [base, *base.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    for name in ("superuser.password", "restore.password", "owner.password"):
        os.chmod(base / name, 0o600)
    os.chmod(base, 0o700)

    data = base / "data"
    _run(_as_user(run_as, ["initdb", "-D", str(data), "-U", "postgres", "--auth-local=trust",
                           "--auth-host=scram-sha-256", f"--pwfile={base / 'superuser.password'}",
                           "--encoding=UTF8", "--locale=C"]))
    port = _free_port()
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{base}'\n"
                   f"ssl = on\nssl_cert_file = '{base / 'server.crt'}'\nssl_key_file = '{base / 'server.key'}'\n"
                   "password_encryption = 'scram-sha-256'\nfsync = off\nshared_buffers = 32MB\nmax_connections = 50\n")
    (data / "pg_hba.conf").write_text(
        "# Setup runs over the private Unix socket; clients must use TLS with a password.\n"
        "local all postgres trust\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n")
    _run(_as_user(run_as, ["pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "start"]))

    server = PgServer(base, "127.0.0.1", port, DATABASE, OWNER_ROLE, owner_password, RESTORE_ROLE,
                      restore_password, base / "ca.crt", run_as)
    try:
        setup = litellm_schema.setup_sql(OWNER_ROLE, owner_password, RESTORE_ROLE, restore_password, DATABASE)
        _run(_as_user(run_as, ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-h", str(base), "-p", str(port),
                               "-U", "postgres", "-d", "postgres"]), input=setup)
        _run(_as_user(run_as, ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-h", str(base), "-p", str(port),
                               "-U", "postgres", "-d", DATABASE]), input=litellm_schema.schema_sql(OWNER_ROLE))
    except Exception:
        server.stop()
        raise
    return server


def start_traffic(server: PgServer, interval: float, stopping) -> None:
    """Insert one spend log row every `interval` real seconds until `stopping` is set.

    A real gateway writes spend logs all the time, so the newest row of the
    production database is seconds old. Without this, the fixture's newest row
    ages with the estate and RPO measurements grow with its uptime.
    """
    insert = ('INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, "startTime", "endTime", model, status) '
              "VALUES ('chatcmpl-live-' || md5(clock_timestamp()::text), 'acompletion', "
              "now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 'gpt-4o', 'success');")

    def write_forever():
        while not stopping.wait(interval):
            result = subprocess.run(
                _as_user(server.run_as, ["psql", "-q", "-h", str(server.directory), "-p", str(server.port),
                                         "-U", "postgres", "-d", DATABASE, "-c", insert]),
                capture_output=True, text=True)
            if result.returncode != 0:
                print(f"estate: spend log insert failed: {result.stderr.strip()}", file=sys.stderr, flush=True)

    threading.Thread(target=write_forever, name="spend-log-traffic", daemon=True).start()


def start_watchdog(server: PgServer, watched_pid: int, remove_on_exit: str | None = None) -> None:
    """Stop the server when `watched_pid` exits, even if that process is killed with SIGKILL.

    The watchdog also deletes `remove_on_exit` then, when given.
    """
    server.watchdog = subprocess.Popen(
        [sys.executable, "-m", "emulator.pg_watchdog", str(watched_pid), str(server.directory),
         server.run_as or "", remove_on_exit or ""],
        cwd=str(Path(__file__).resolve().parent.parent), start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_directory(directory: Path, run_as: str | None) -> None:
    """Stop the server of a cluster directory if it runs (fast shutdown)."""
    data = Path(directory) / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(_as_user(run_as, ["pg_ctl", "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"]),
                       capture_output=True)

