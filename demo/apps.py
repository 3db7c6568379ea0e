from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data generator and its `seed_demo` command; it defines no models."""

    name = "demo"
    verbose_name = "Demo data"
