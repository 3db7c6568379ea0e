"""A dry run's memory across batches: the leads it would have created so far.

A real import commits each batch, so a person who comes back in a later batch is found
among the leads and counted as a duplicate (skipped or updated). A dry run writes no
lead; without a memory, every batch would meet that person as new and count a second
"created". `Rehearsal` keeps the would-be leads in a temporary table of the worker's
connection (flat memory, whatever the file's length), each under the very keys
`leads.identity` looks real leads up by, and answers with stand-in `Lead` objects (no
row behind them, negative ids) that the plan treats as it would the committed ones.

What a rehearsal cannot know it leaves out: routing (the stand-in has the owner the row
or the import names, else none) and a real lead a dry run would have updated (it is
compared as it is in the database). A dry run resumed on another connection starts a
new memory.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from crm.models import User
from leads.identity import normalize_email, normalize_name
from leads.models import Lead
from leads.services.bulk_rows import BulkRow
from leads.services.edits import EDITABLE_FIELDS

_TABLE = "leads_bulk_rehearsal"
_SQLITE_CHUNK = 500  # well under SQLite's bound on parameters per statement


class Rehearsal:
    """The would-be leads of one dry run (see the module docstring); `close` drops them."""

    def __init__(self) -> None:
        self._last_id = 0
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_TABLE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_TABLE} (id bigint PRIMARY KEY, email_key text, "
                "name_key text, status text, created_at text, owner_id bigint, data text)"
            )
            cursor.execute(f"CREATE INDEX {_TABLE}_email ON {_TABLE} (email_key)")
            cursor.execute(f"CREATE INDEX {_TABLE}_name ON {_TABLE} (name_key)")

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_TABLE}")

    def next_id(self) -> int:
        """A stand-in's id: negative, never a real lead's."""
        self._last_id -= 1
        return self._last_id

    def add(
        self,
        *,
        lead_id: int,
        data: dict[str, Any],
        status: str,
        at: datetime.datetime,
        owner_id: int | None,
    ) -> None:
        self._write(
            f"INSERT INTO {_TABLE} (id, email_key, name_key, status, created_at, owner_id, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [lead_id, *_keys(data), status, at.isoformat(), owner_id, _dumps(data)],
        )

    def remember(
        self,
        *,
        updated: Iterable[tuple[Lead, dict[str, Any]]],
        created: Iterable[BulkRow],
        owner: User | None,
        now: datetime.datetime,
    ) -> None:
        """What a dry batch would have written, for the batches after it: its changes to
        leads it would have created, and its new leads (`owner` for a row naming none)."""
        for lead, changes in updated:
            if is_stand_in(lead):
                self.update(lead, changes)
        for row in created:
            chosen = row.owner or owner
            self.add(
                lead_id=self.next_id(),
                data={k: v for k, v in row.data.items() if v is not None},
                status=row.status,
                at=row.at or now,
                owner_id=chosen.pk if chosen else None,
            )

    def update(self, lead: Lead, changes: dict[str, Any]) -> None:
        """A later row's changes to a stand-in, kept for the rows after it."""
        data = {name: getattr(lead, name) for name in EDITABLE_FIELDS} | changes
        self._write(
            f"UPDATE {_TABLE} SET email_key = %s, name_key = %s, data = %s WHERE id = %s",
            [*_keys(data), _dumps(data), lead.pk],
        )

    def leads(self, emails: Iterable[str], names: Iterable[str]) -> list[Lead]:
        """The stand-ins with one of these e-mail or name keys."""
        found: dict[int, Lead] = {}
        for column, keys in (("email_key", list(emails)), ("name_key", list(names))):
            for chunk in _chunks(keys):
                sql, params = _one_of(column, chunk)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT id, status, created_at, owner_id, data FROM {_TABLE} WHERE {sql}",
                        params,
                    )
                    for pk, status, created_at, owner_id, data in cursor.fetchall():
                        found.setdefault(pk, _stand_in(pk, status, created_at, owner_id, data))
        return list(found.values())

    def _write(self, sql: str, params: list[Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def is_stand_in(lead: Lead) -> bool:
    return lead.pk is not None and lead.pk < 0


def _keys(data: dict[str, Any]) -> tuple[str | None, str | None]:
    email = normalize_email(data.get("email"))
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    return email or None, name or None


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder)


def _stand_in(pk: int, status: str, created_at: str, owner_id: int | None, data: str) -> Lead:
    return Lead(
        id=pk,
        status=status,
        created_at=datetime.datetime.fromisoformat(created_at),
        owner_id=owner_id,
        **json.loads(data),
    )


def _chunks(keys: list[str]) -> Iterable[list[str]]:
    if not keys:
        return []
    if connection.vendor == "postgresql":
        return [keys]
    return [keys[i : i + _SQLITE_CHUNK] for i in range(0, len(keys), _SQLITE_CHUNK)]


def _one_of(column: str, values: list[str]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
