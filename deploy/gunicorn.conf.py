"""gunicorn's settings for the reference registry on Linux: `gunicorn -c deploy/gunicorn.conf.py`.

Each worker is a process of its own with its own pool of PostgreSQL connections
(kiosk/registry/database.py), so N workers take N envelopes at once, and one that
dies (or is killed) mid-request is replaced by the master while the others go on.
The app is built once in the master (`preload_app`): the schema migrations run there,
before any worker forks, and a broken setting stops the start instead of every worker.

Settings from the environment: REGISTRY_BIND (127.0.0.1:8100; nginx in front for TLS)
and REGISTRY_WORKERS (4, or 2 × cores); the registry's own REGISTRY_* settings as for
`python run.py registry`.
"""

import os
import shutil

from kiosk.registry import settings

# Every worker's counters in one folder, summed by whichever worker answers /metrics
# (prometheus_client's multi-process mode, docs/metrics.md); emptied at each start.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings()["INSTANCE"] / "metrics"))
shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)

wsgi_app = "kiosk.registry:create_registry_app()"
bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:8100")
workers = int(os.environ.get("REGISTRY_WORKERS", "4"))
preload_app = True
timeout = 60  # a worker silent this long is killed and replaced
graceful_timeout = 30
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = None  # paths carry lookup ids: no access log by default
errorlog = "-"
loglevel = "warning"
limit_request_line = 8190
