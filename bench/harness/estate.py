"""A private emulated estate for one benchmark: launcher process and control API.

The benchmark starts its own launcher (integration/emulator/launcher.py) on a
free loopback port with its own PostgreSQL directory, instead of sharing the
estate that `integration/estate start` keeps under integration/.run, because
it resets the estate between runs and must not disturb anyone else's.
"""

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = REPO / "integration"

# Time to wait for the launcher's ready line; the first start also creates a
# PostgreSQL cluster with initdb.
START_TIMEOUT_SECONDS = 180


class EstateError(Exception):
    pass


@dataclass
class PostgresInfo:
    host: str
    port: int
    user: str
    password: str
    ca_file: str


class Estate:
    """A running launcher and the control API on its port."""

    def __init__(self, process: subprocess.Popen, ready: dict):
        self.process = process
        self.ready = ready
        self.endpoint: str = ready["endpoint"]
        pg = ready["pg"]
        self.postgres = PostgresInfo(host=pg["host"], port=int(pg["port"]), user=pg["user"],
                                     password=pg["password"], ca_file=pg["ca_file"])

    @classmethod
    def start(cls, time_scale: float, work_dir: Path) -> "Estate":
        """Installs the estate's virtualenv if needed and starts a seeded launcher that dies with this process.

        The ids of the seeded estate are in `ready["seed"]`, in the shape `integration/estate seed --json` prints.
        """
        subprocess.run([str(INTEGRATION / "estate"), "install"], check=True)
        # Under /tmp, because as root PostgreSQL runs as another user, who must
        # reach the directory; the launcher removes it on exit.
        pg_parent = tempfile.mkdtemp(prefix="drctl-bench-pg-")
        log = open(work_dir / "launcher.log", "ab")
        process = subprocess.Popen(
            [str(INTEGRATION / ".venv" / "bin" / "python"), "-m", "emulator.launcher",
             "--time-scale", str(time_scale), "--seed", "--pg-dir", f"{pg_parent}/pg", "--remove-on-exit", pg_parent],
            cwd=str(INTEGRATION), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        line = b""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line or process.poll() is not None:
                break
        if not line:
            process.kill()
            raise EstateError(f"the estate launcher printed no ready line (exit code {process.poll()}); "
                              f"see {work_dir / 'launcher.log'}")
        return cls(process, json.loads(line))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    # Control API.

    def _call(self, method: str, route: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_estate/{route}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise EstateError(f"{method} /_estate/{route} failed with HTTP {error.code}: "
                              f"{error.read().decode(errors='replace')}") from error

    def config(self) -> dict:
        return self._call("GET", "config")

    def requests(self, access_key: str, since: int = 0) -> list[dict]:
        return self._call("GET", f"requests?since={since}&access_key={access_key}")["requests"]

    def last_seq(self) -> int:
        return self._call("GET", "requests?since=999999999")["last_seq"]

    def add_fault(self, rule: dict) -> dict:
        return self._call("POST", "faults", rule)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reset_and_seed(self) -> dict:
        """Resets moto, the configuration and the request log, then seeds the reference estate."""
        self._call("POST", "reset", {})
        result = subprocess.run([str(INTEGRATION / "estate"), "seed", "--json", "--endpoint", self.endpoint],
                                check=True, capture_output=True, text=True)
        return json.loads(result.stdout)

    def aws_env(self, access_key: str) -> dict:
        """Builds the environment of an AWS client that reaches only this estate and signs with `access_key`."""
        env = dict(os.environ)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(name, None)
        env.update({
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "eu-west-2",
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
            "AWS_EC2_METADATA_DISABLED": "true",
            # An empty file keeps any ~/.aws settings out of the measurement.
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            # A safety net: a client that ignored AWS_ENDPOINT_URL would reach for
            # an AWS host through this proxy, which nothing listens on.
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        })
        return env
