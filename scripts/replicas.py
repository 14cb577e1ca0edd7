#!/usr/bin/env python
"""K replicas of the lab behind nginx on this machine (Debian's nginx package).

    python scripts/replicas.py --replicas 2 --port 8080          # serve until Ctrl-C
    python scripts/replicas.py --replicas 2 --check              # write the configuration and run nginx -t
    python scripts/loadtest.py --url http://127.0.0.1:8080 ...   # a class through the proxy

Each replica is the lab as `make run` starts it (``python -m advdl.ui.serve --server.port
850N``), reading the same checkpoints (the only thing replicas share, read-only). nginx keeps each
student's session on one replica by a cookie (deploy/nginx.conf.template says why and how).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def config(ports: list[int], port: int, prefix: Path) -> str:
    """nginx.conf for replicas on ``ports`` behind ``port``, its files under ``prefix``."""
    addrs = [f"127.0.0.1:{p}" for p in ports]
    return TEMPLATE.read_text(encoding="utf-8").format(
        upstreams="\n".join(f"        server {a};" for a in addrs),
        sticky="\n".join(f'        "{a}" {a};' for a in addrs),
        port=port, prefix=prefix)


def write_config(ports: list[int], port: int, prefix: Path) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(config(ports, port, prefix), encoding="utf-8")
    return conf


def check(conf: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` on the configuration (as a user: the error log and pid go under its prefix)."""
    return subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(conf.parent), "-e", str(conf.parent / "error.log")],
                          capture_output=True, text=True)


def wait_healthy(url: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout:.0f} s")


class Replicas:
    """K lab servers and nginx in front of them; a context manager that stops them all."""

    def __init__(self, k: int, port: int = 8080, first: int = 8501, checkpoints: Path | None = None, prefix: Path | None = None):
        self.ports = [first + i for i in range(k)]
        self.port = port
        self.prefix = prefix or Path(tempfile.mkdtemp(prefix="advdl-nginx-"))
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.checkpoints = checkpoints
        self.procs: list[subprocess.Popen] = []
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> Replicas:
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONUNBUFFERED": "1"}
        if self.checkpoints:
            env["ADVDL_CHECKPOINTS"] = str(self.checkpoints)
        try:
            for p in self.ports:
                log = open(self.prefix / f"replica-{p}.log", "w")
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "advdl.ui.serve", "--server.port", str(p), "--server.address", "127.0.0.1",
                     "--server.headless", "true"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            conf = write_config(self.ports, self.port, self.prefix)
            tested = check(conf)
            if tested.returncode != 0:
                raise RuntimeError(f"nginx -t: {tested.stderr.strip()}")
            self.nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.prefix), "-e", str(self.prefix / "error.log")])
            self.procs.append(self.nginx)
            for p in self.ports:
                wait_healthy(f"http://127.0.0.1:{p}")
            wait_healthy(self.url)
        except BaseException:
            self.__exit__()
            raise
        return self

    def pids(self) -> list[int]:
        """The replicas' process ids (not nginx's)."""
        return [p.pid for p in self.procs[: len(self.ports)]]

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if p is not getattr(self, "nginx", None) else signal.SIGQUIT)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=2, help="lab servers (default: 2)")
    p.add_argument("--port", type=int, default=8080, help="nginx's port (default: 8080)")
    p.add_argument("--first-port", type=int, default=8501, help="the first replica's port; the others follow (default: 8501)")
    p.add_argument("--checkpoints", type=Path, help="checkpoint root (default: the repository's)")
    p.add_argument("--prefix", type=Path, help="where nginx's configuration, logs and the replicas' logs go (default: a new temp folder)")
    p.add_argument("--check", action="store_true", help="only write the configuration and run nginx -t")
    a = p.parse_args(argv)
    if a.check:
        prefix = a.prefix or Path(tempfile.mkdtemp(prefix="advdl-nginx-"))
        conf = write_config([a.first_port + i for i in range(a.replicas)], a.port, prefix)
        r = check(conf)
        print(r.stderr.strip() or r.stdout.strip())
        print(f"wrote {conf}")
        return r.returncode
    with Replicas(a.replicas, a.port, a.first_port, a.checkpoints, a.prefix) as r:
        print(f"{a.replicas} replicas on ports {r.ports[0]}-{r.ports[-1]} behind {r.url} (logs in {r.prefix}); Ctrl-C stops them")
        try:
            while all(p.poll() is None for p in r.procs):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
