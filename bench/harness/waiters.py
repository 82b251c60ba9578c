"""Rescaled AWS CLI waiters: an AWS_DATA_PATH override generated at run time.

The AWS CLI's waiters poll at a constant `delay` (RDS 30 s, ELBv2 15 s). On
the estate, simulated time runs `scale` times faster, so the override divides
each delay by the same factor and keeps `maxAttempts`, which scales each
waiter's timeout too. The files are copied from the installed botocore (the
copy inside awscli 1.x), never committed.
"""

import json
import subprocess
from pathlib import Path

# Services whose waiters the baseline runbooks use.
SERVICES = ("rds", "elbv2")


def installed_data_dir(python: Path) -> Path:
    """Returns the botocore data directory that the AWS CLI in this virtualenv loads."""
    code = ("import os, awscli.botocore as b; print(os.path.join(os.path.dirname(b.__file__), 'data'))")
    result = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return Path(result.stdout.strip())


def write_override(python: Path, scale: float, out_dir: Path) -> dict[str, dict[str, float]]:
    """Writes rescaled waiters-2.json files under `out_dir` and returns the new delays by service and waiter.

    `out_dir` becomes AWS_DATA_PATH; botocore looks it up before its own data.
    """
    source_root = installed_data_dir(python)
    delays: dict[str, dict[str, float]] = {}
    for service in SERVICES:
        versions = sorted(path for path in (source_root / service).iterdir() if (path / "waiters-2.json").exists())
        if not versions:
            raise FileNotFoundError(f"no waiters-2.json for {service} under {source_root}; "
                                    "reinstall the AWS CLI from bench/requirements.txt")
        for version_dir in versions:
            model = json.loads((version_dir / "waiters-2.json").read_text())
            for name, waiter in model["waiters"].items():
                waiter["delay"] = waiter["delay"] / scale
                if version_dir == versions[-1]:
                    delays.setdefault(service, {})[name] = waiter["delay"]
            target = out_dir / service / version_dir.name
            target.mkdir(parents=True, exist_ok=True)
            (target / "waiters-2.json").write_text(json.dumps(model, indent=1))
    return delays
