"""Start the emulated estate: moto's server in-process, patched, on a loopback port.

Prints one JSON line on stdout once the server is ready (endpoint, port, pid,
and when requested the seeded ids and the PostgreSQL connection), then serves
until SIGTERM or SIGINT, or until its parent process dies unless --detach is
given. PostgreSQL started with --pg-dir is stopped on the way out.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time

# The reference estate's account. moto reads it when its modules are imported.
os.environ.setdefault("MOTO_ACCOUNT_ID", "072136646002")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from werkzeug.serving import make_server  # noqa: E402

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from . import clock, control, elbv2_health, rds_fixes, rds_timing  # noqa: E402
from .app import EstateApp  # noqa: E402

# How often the parent-death watch looks at the parent pid, in seconds.
PARENT_POLL_SECONDS = 0.5


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler without werkzeug's per-request access log; /_estate/requests has it."""

    def log_request(self, code="-", size="-") -> None:
        pass


def install_patches() -> None:
    # Fixes first, so that the timing layer wraps the fixed behaviour.
    rds_fixes.install()
    rds_timing.install()
    elbv2_health.install()


def _env_time_scale() -> float:
    raw = os.environ.get("DRCTL_ESTATE_TIME_SCALE")
    if not raw:
        return 60.0
    try:
        return float(raw)
    except ValueError:
        sys.exit(f"DRCTL_ESTATE_TIME_SCALE={raw!r} is not a number; set it to e.g. 60 or unset it")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="loopback TCP port; 0 picks a free one")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="simulated seconds per real second (default: DRCTL_ESTATE_TIME_SCALE or 60)")
    parser.add_argument("--seed", action="store_true", help="create the reference estate after start")
    parser.add_argument("--pg-dir", help="start a throwaway TLS PostgreSQL under this directory")
    parser.add_argument("--detach", action="store_true", help="keep running when the parent process exits")
    parser.add_argument("--ready-file", help="also write the ready JSON to this file")
    parser.add_argument("--spend-log-interval", type=float, default=0.0,
                        help="insert a LiteLLM spend log row every this many real seconds, like live gateway "
                             "traffic, so the newest row stays recent on a long-running estate; 0 turns it off")
    parser.add_argument("--remove-on-exit", help="delete this directory (e.g. the PostgreSQL one's parent) on exit")
    args = parser.parse_args(argv)

    time_scale = args.time_scale if args.time_scale is not None else _env_time_scale()
    if not time_scale > 0:
        sys.exit(f"--time-scale must be positive, got {time_scale}")
    clock.CONFIG.set_time_scale(time_scale)
    control.STARTUP["time_scale"] = time_scale
    install_patches()

    parent = os.getppid()
    app = EstateApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietRequestHandler)
    port = server.server_address[1]
    endpoint = f"http://127.0.0.1:{port}"
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()

    pg = None
    stopping = threading.Event()

    def stop(*_):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        ready = {"endpoint": endpoint, "port": port, "pid": os.getpid(), "time_scale": time_scale,
                 "rds_endpoint_suffixes": {r: rds_fixes.endpoint_suffix(r) for r in control.ESTATE_REGIONS}}
        if args.seed:
            from . import seed
            ready["seed"] = seed.seed(endpoint)
        if args.pg_dir:
            from . import postgres
            pg = postgres.start(args.pg_dir, ready["rds_endpoint_suffixes"])
            # The launcher stops PostgreSQL on exit; the watchdog covers SIGKILL.
            postgres.start_watchdog(pg, os.getpid(), args.remove_on_exit)
            if args.spend_log_interval > 0:
                postgres.start_traffic(pg, args.spend_log_interval, stopping)
            ready["pg"] = pg.to_json()
        line = json.dumps(ready)
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w") as handle:
                handle.write(line + "\n")
            os.replace(tmp, args.ready_file)
        print(line, flush=True)

        while not stopping.is_set():
            if not args.detach and os.getppid() != parent:
                break
            stopping.wait(PARENT_POLL_SECONDS)
    except Exception as error:  # report start-up failures on stderr with their cause
        print(f"estate launcher failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        raise
    finally:
        if pg is not None:
            pg.stop()
        server.shutdown()
        if args.remove_on_exit:
            shutil.rmtree(args.remove_on_exit, ignore_errors=True)


if __name__ == "__main__":
    main()
