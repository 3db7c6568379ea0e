from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """Cross-app pages; no models of its own (its migration only adds search indexes)."""

    name = "workspace"
    verbose_name = "Workspace"

    def ready(self) -> None:
        from workspace.navigation import register_sections

        register_sections()
