"""Test overlay: fast hashing, eager on-commit assertions, in-memory email."""

from crm.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []  # noqa: F405
if not env.str("REDIS_URL", default=""):  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A second PostgreSQL database stands in for the read replica; only the router's tests ask
# for it (pytest-django creates it for them alone) and switch REPLICA_READS on.
if "postgresql" in DATABASES["default"]["ENGINE"] and "replica" not in DATABASES:  # noqa: F405
    _primary = DATABASES["default"]  # noqa: F405
    DATABASES["replica"] = {  # noqa: F405
        **_primary,
        "NAME": f"{_primary['NAME']}_replica",
        "TEST": {"NAME": f"test_{_primary['NAME']}_replica"},
    }
REPLICA_READS = False
