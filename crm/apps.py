from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"

    def ready(self) -> None:
        """Sign-in protection's models, permissions and Settings page (`crm.security`)."""
        from crm.security.setup import ready as security_ready

        security_ready()
