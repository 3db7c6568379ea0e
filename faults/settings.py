"""Settings of the processes the fault suite starts: production's, with three changes.

Everything that matters to a fault — DEBUG=0, the database, Redis cache and broker, the
psycopg pool in web processes, Celery's acks-late delivery, the beat schedule's entries —
comes from `crm.settings` and the environment `faults.stack` sets, exactly as deployed.
Only what would make the suite slow or touch shared files differs:

- static files are served from the app folders (no `collectstatic` into the shared
  `var/staticfiles`, which costs ten seconds per run and belongs to whoever runs the site);
- e-mail goes to `faults.mailbox` (one file per message in the run's temporary folder), the
  receiver whose messages the invariant checker counts;
- the short run (`FAULTS_BEAT_SCALE` < 1) shortens the sweeps' and the heartbeat's period,
  so a fault is healed in seconds rather than in 15-second beats. The full run keeps
  production's periods.
"""

from __future__ import annotations

import os
from typing import Any

from crm.settings import *  # noqa: F403
from crm.settings import CELERY_BEAT_SCHEDULE, STORAGES

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = "faults.mailbox.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("FAULTS_MAIL_DIR", "")

# The entries whose period the short run scales; the others (rollups, purges) keep theirs.
SCALED_ENTRIES = ("sla-sweep", "outbox-sweep", "heartbeat")
MIN_PERIOD = 1.0


def _scaled(entry: dict[str, Any], scale: float) -> dict[str, Any]:
    scaled = dict(entry)
    scaled["schedule"] = max(MIN_PERIOD, float(entry["schedule"]) * scale)
    options = dict(entry.get("options", {}))
    if "expires" in options:
        options["expires"] = max(MIN_PERIOD, float(options["expires"]) * scale)
        scaled["options"] = options
    return scaled


_scale = float(os.environ.get("FAULTS_BEAT_SCALE", "1"))
if _scale != 1:
    for _name in SCALED_ENTRIES:
        CELERY_BEAT_SCHEDULE[_name] = _scaled(CELERY_BEAT_SCHEDULE[_name], _scale)
