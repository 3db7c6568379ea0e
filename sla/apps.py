from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"

    def ready(self) -> None:
        """Give the lead lifecycle its clocks: `leads` calls them through `leads.clocks`
        without importing `sla` (models are importable only once the registry is ready)."""
        from leads.clocks import register
        from sla.clocks import SlaClocks

        register(SlaClocks())
