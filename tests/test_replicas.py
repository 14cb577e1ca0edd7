"""Replicas behind nginx (scripts/replicas.py, deploy/nginx.conf.template): the configuration passes
`nginx -t`, a forged cookie cannot point the proxy elsewhere, and protocol sessions through two
replicas reach both, each session staying on one for its whole lesson."""

from __future__ import annotations

import os
import shutil

import pytest
from replicas import NGINX, Replicas, check, config, write_config
from stclient import Session
from conftest import run_async as run

pytestmark = pytest.mark.slow

needs_nginx = pytest.mark.skipif(not os.path.exists(NGINX) and os.environ.get("CI", "").lower() != "true",
                                 reason="nginx is missing (apt-get install nginx)")


@needs_nginx
def test_the_configuration_passes_nginx_t_and_lists_only_the_replicas(tmp_path):
    conf = write_config([8501, 8502, 8503], 18080, tmp_path)
    r = check(conf)
    assert r.returncode == 0, r.stderr
    text = config([8501, 8502], 18080, tmp_path)
    assert text.count("server 127.0.0.1:85") == 2 and '"127.0.0.1:8502" 127.0.0.1:8502;' in text
    assert "ip_hash" not in text.split("http {")[1]  # sticky by cookie, not by the classroom's address


@needs_nginx
def test_two_replicas_share_the_sessions_and_keep_each_on_one(tmp_path):
    async def class_of(url: str, n: int) -> list[Session]:
        sessions = []
        for _ in range(n):  # one after another: the proxy's round robin alternates
            s = Session(url)
            first = await s.open("capsules", "lang=en")
            assert not first.exceptions and "CapsNet reads (capsule length)" in first.metrics
            await s.fetch_media()
            routed = await s.set("caps.iters", "5")
            assert len([c for c in routed.captions if c.startswith("Iteration")]) == 5
            sessions.append(s)
        for s in sessions:
            await s.close()
        return sessions

    with Replicas(2, port=18090, first=18501, prefix=tmp_path / "nginx") as r:
        sessions = run(class_of(r.url, 4), 240)
        assert all(len(s.replicas) == 1 for s in sessions), [s.replicas for s in sessions]  # html, websocket, images: one replica
        assert set.union(*(s.replicas for s in sessions)) == {"127.0.0.1:18501", "127.0.0.1:18502"}
        forged = Session(r.url)
        forged.cookies["advdl_replica"] = "10.0.0.1:80"  # not a replica: the proxy ignores it
        assert run(forged.load_html(), 30) > 0 and forged.replicas <= {"127.0.0.1:18501", "127.0.0.1:18502"}
    assert shutil.which("nginx") or os.path.exists(NGINX)
