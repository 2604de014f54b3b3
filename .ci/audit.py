"""Audit the installed dependencies of Parcours for known vulnerabilities with pip-audit.

The audited set is every distribution requirements-dev.txt pulls in (its whole installed closure, pinned to the
installed versions), not whatever else the machine holds. pip-audit asks the public OSV database; where that
database cannot be reached (a CI that reaches only package registries), it asks a loopback server over
.ci/advisories.json instead, the advisories behind requirements.txt's lower bounds, and says so. Exit status:
pip-audit's (non-zero when a vulnerability is found or a dependency cannot be audited).

    python .ci/audit.py                       # public OSV database, else the committed list
    python .ci/audit.py --offline             # the committed list only
    python .ci/audit.py --advisories FILE     # another list in the same form (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_OSV = "https://api.osv.dev/v1/query"
PROBE_SECONDS = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="use the committed advisory list only")
    parser.add_argument("--advisories", type=Path, default=ROOT / ".ci" / "advisories.json")
    parser.add_argument("--requirements", type=Path, default=ROOT / "requirements-dev.txt")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="parcours-audit-") as folder:
        pinned = Path(folder) / "installed.txt"
        closure = installed_closure(args.requirements)
        pinned.write_text("".join(f"{name}=={version}\n" for name, version in sorted(closure.items())))
        if not args.offline and reachable(PUBLIC_OSV):
            print(f"auditing {len(closure)} installed distributions against the public OSV database", flush=True)
            return pip_audit(pinned, PUBLIC_OSV)
        advisories = json.loads(args.advisories.read_text(encoding="utf-8"))
        print(
            f"auditing {len(closure)} installed distributions OFFLINE against {len(advisories['vulns'])} advisories "
            f"in {args.advisories.name} (as of {advisories['as_of']}): the public OSV database is not used",
            flush=True,
        )
        with osv_server(advisories["vulns"]) as url:
            return pip_audit(pinned, url)


def installed_closure(requirements: Path) -> dict[str, str]:
    """Return name -> installed version of every distribution the requirement files need, recursively."""
    pending = [Requirement(line) for line in _requirement_lines(requirements)]
    found: dict[str, str] = {}
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"{requirement.name} is required but not installed: run pip install -r {requirements.name}")
        found[name] = distribution.version
        for needed in map(Requirement, distribution.requires or []):
            wanted = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if needed.marker is None or any(needed.marker.evaluate(environment) for environment in wanted):
                pending.append(needed)
    return found


def _requirement_lines(path: Path) -> Iterator[str]:
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            yield from _requirement_lines(path.parent / line[3:].strip())
        elif line:
            yield line


def reachable(url: str) -> bool:
    query = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "0.1"}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=query), timeout=PROBE_SECONDS) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def pip_audit(pinned: Path, osv_url: str) -> int:
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(pinned), "--no-deps", "--disable-pip"]
    command += ["--strict", "--vulnerability-service", "osv", "--osv-url", osv_url, "--progress-spinner", "off"]
    return subprocess.run(command, check=False).returncode


@contextmanager
def osv_server(vulns: list[dict]) -> Iterator[str]:
    """Serve OSV's query endpoint for `vulns` on a free loopback port; yield its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = canonicalize_name(query["package"]["name"]), Version(query["version"])
            matching = [vuln for vuln in vulns if affects(vuln, name, version)]
            body = json.dumps({"vulns": matching} if matching else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def affects(vuln: dict, name: str, version: Version) -> bool:
    """Tell whether an OSV record's ECOSYSTEM ranges for `name` hold `version` (introduced <= version < fixed)."""
    for affected in vuln["affected"]:
        if canonicalize_name(affected["package"]["name"]) != name:
            continue
        for span in affected.get("ranges", []):
            events = {key: value for event in span["events"] for key, value in event.items()}
            if span["type"] == "ECOSYSTEM" and Version(events["introduced"]) <= version < Version(events["fixed"]):
                return True
    return False


if __name__ == "__main__":
    sys.exit(main())
