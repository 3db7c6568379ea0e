"""The workspace's periodic job: keep the search's table of words small."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import connection

logger = logging.getLogger(__name__)


@shared_task(name="workspace.tasks.refresh_search_words_task")
def refresh_search_words_task() -> dict[str, int]:
    """Nightly (CELERY_BEAT_SCHEDULE["search-words-refresh"]): drop the words no name holds
    any more. The triggers keep the table complete as names are written; this keeps it
    from growing with every deleted or renamed name. PostgreSQL only, as the table is."""
    if connection.vendor != "postgresql":
        return {"dropped": 0, "added": 0}
    from workspace.search_words import refresh_search_words

    dropped, added = refresh_search_words()
    logger.info("search words: %d dropped, %d added", dropped, added)
    return {"dropped": dropped, "added": added}
