"""A partial index for bulk intake's name lookups: the person key by name
(`leads.identity.NameKey`) among the leads without an e-mail address.

A row that has an address can be the same person as a lead of the same name only when
that lead has none (`leads.services.bulk_intake._PersonIndex`), so an import probes this
index, which holds the few leads without an address, instead of `lead_name_key_idx`, which
holds every lead: the name probes of a batch of 5,000 people cost a fraction.

Created on PostgreSQL only and kept out of the model state (like `workspace`'s search
indexes): it serves one bulk query and nothing else should rely on it; on SQLite the
query reads the table instead. The index is built by Django's own schema editor from the
`NameKey` expression, so its expression is exactly the one the query compares.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import Q

from leads.identity import NameKey

NAME = "lead_name_key_no_email_idx"


def _index() -> models.Index:
    return models.Index(
        NameKey("first_name", "last_name"), condition=~Q(last_name="") & Q(email=""), name=NAME
    )


def add(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("leads", "Lead"), _index())


def remove(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0012_event_lead_index")]

    operations = [migrations.RunPython(add, remove, elidable=False)]
