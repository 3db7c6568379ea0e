"""The Celery app. The beat schedule lives in settings (code), not in the database."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("threshold")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
