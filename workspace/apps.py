from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """Cross-app pages, and global search: its trigram indexes and its table of the words
    in names (`workspace.models.SearchWord`, for misspelt queries)."""

    name = "workspace"
    verbose_name = "Workspace"

    def ready(self) -> None:
        from workspace.navigation import register_sections

        register_sections()
