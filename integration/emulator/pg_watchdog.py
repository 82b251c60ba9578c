"""Stop a throwaway PostgreSQL once the process that owns it has exited.

Usage: python -m emulator.pg_watchdog WATCHED_PID CLUSTER_DIR [RUN_AS_USER [REMOVE_DIR]]
"""

import os
import shutil
import sys
import time
from pathlib import Path

from .postgres import stop_directory

POLL_SECONDS = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process stays a zombie until its parent reaps it; that counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def main() -> None:
    watched, directory = int(sys.argv[1]), Path(sys.argv[2])
    run_as = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    remove = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    while _alive(watched):
        if not (directory / "data" / "postmaster.pid").exists():
            return
        time.sleep(POLL_SECONDS)
    stop_directory(directory, run_as)
    if remove:
        shutil.rmtree(remove, ignore_errors=True)


if __name__ == "__main__":
    main()
