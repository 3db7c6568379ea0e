"""Who a lead is: the person key that intake deduplicates on (DOMAIN.md, "one person, one
open lead").

A person is their e-mail address; without one, their name at their company's web domain.
Two records are the same person when both have an e-mail and the addresses are equal, or
when one of them has none and the name and domain agree. Different addresses are
different people, even at the same company under the same name (`find_duplicates` still
lists them as *likely* duplicates for a human to judge). A record with neither an
address nor a domain (a phone-only form post) is the same as a lead without an address
of the same name, company and phone digits (`record_key`): every channel, the import
as the web form and the webhook, judges it so.

The functions here are pure and are the one definition of the normalization. The SQL
lookups in `leads.services.intake` apply the very same one, so that a lookup is an index
probe (see the functional indexes on `Lead`):

- `normalize_email` is `LOWER(email)` on a value stored stripped (intake strips it).
- `normalize_name` is `NameKey(first_name, last_name)` below: lower-cased, runs of
  whitespace made one space, trimmed. It does *not* strip accents: the database cannot do
  that in an index expression portably (PostgreSQL's `unaccent` is not immutable, SQLite
  has none), and a Python key the SQL key disagrees with would miss matches silently.
  It lower-cases rather than case-folds for the same reason (`LOWER('ß')` is `ß`).
- the domain part is compared in Python on the few rows the name probe returns: it is
  the company's web domain, else its e-mail domain unless that is a free-mail provider
  (`crm.services.company_domain`, the rule accounts are matched on).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Concat

from crm.models import normalize_company_name
from crm.models import normalize_domain as _crm_normalize_domain

PersonKey = tuple[str, str]
PersonKeys = tuple[str, str, str]  # e-mail, name, identity domain (`person_keys`)
_NOT_DIGIT = re.compile(r"\D")


def normalize_email(value: Any) -> str:
    """`  Ana@Example.COM ` -> `ana@example.com`."""
    return str(value or "").strip().lower()


def normalize_domain(value: Any) -> str:
    """`https://www.Acme.com/about` -> `acme.com` (an e-mail address gives its domain)."""
    return _crm_normalize_domain(str(value or ""))


def stored_domain(text: str) -> str:
    """A company web domain as a lead stores it, whichever way it came in (a form, the
    API, the webhook, an import): "https://www.Acme.example/about" -> "acme.example", the
    form the key accounts and the duplicate check match on; a value that names no host
    ("n/a", "http://[bad") is kept as written."""
    try:
        domain = _crm_normalize_domain(text)
    except ValueError:  # "http://[bad": no host to read
        return text
    return domain if "." in domain else text


def normalize_name(first: Any, last: Any) -> str:
    """`  ANA   María `, `Pérez` -> `ana maría pérez`; empty without a last name.

    Mirrors `NameKey` exactly (see the module docstring for why accents stay). `split()`
    cuts at the very characters `\\s` matches (`str.isspace`), without a regex."""
    if not str(last or "").strip():
        return ""
    return " ".join(f"{first or ''} {last or ''}".split()).lower()


def identity_domain(data: Mapping[str, Any]) -> str:
    """The company's domain for the name key: its web domain, else the e-mail's domain
    unless that is a free-mail provider (gmail.com says nothing about the company)."""
    # Imported here: `leads.models` imports this module for its indexes, before the apps
    # are ready, and `crm.services` is a write path it should not load at that point.
    email = str(data.get("email") or "")
    # Only the part after the last "@" decides (`normalize_domain`), and it repeats down a
    # file (a company's people): each distinct pair is worked out once.
    return _company_domain(
        str(data.get("company_domain") or ""), "@" + email.rsplit("@", 1)[1] if "@" in email else ""
    )


@lru_cache(maxsize=65_536)
def _company_domain(domain: str, email_domain: str) -> str:
    from crm.services import company_domain

    return company_domain(domain=domain, email=email_domain)


def person_keys(data: Mapping[str, Any]) -> PersonKeys:
    """`data`'s normalized e-mail, name and identity domain, each "" when unknown."""
    return (
        normalize_email(data.get("email")),
        normalize_name(data.get("first_name"), data.get("last_name")),
        identity_domain(data),
    )


def record_key(data: Mapping[str, Any]) -> str:
    """`<name>|<company>|<phone digits>`, or "" when one is missing. A record with neither
    e-mail nor web domain has no person key; it is still the same *record* as a lead of the
    same name, company and phone: importing a file twice must not double its phone-only
    rows (`leads.services.bulk_intake`)."""
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    company = normalize_company_name(str(data.get("company_name") or ""))
    phone = _NOT_DIGIT.sub("", str(data.get("phone") or ""))
    return f"{name}|{company}|{phone}" if name and company and phone else ""


def name_key(data: Mapping[str, Any]) -> str:
    """`<name>|<domain>`, or "" when the name or the domain is missing."""
    name = normalize_name(data.get("first_name"), data.get("last_name"))
    domain = identity_domain(data)
    return f"{name}|{domain}" if name and domain else ""


def person_key(data: Mapping[str, Any]) -> PersonKey | None:
    """`("email", e)` when there is an e-mail; else `("name", "<name>|<domain>")` when the
    name and a company domain are known; else None (no way to tell the person apart)."""
    email = normalize_email(data.get("email"))
    if email:
        return ("email", email)
    key = name_key(data)
    return ("name", key) if key else None


def lock_keys(data: Mapping[str, Any]) -> list[PersonKey]:
    """Every key a record of `data` could be matched on (its e-mail and its name key),
    sorted, so concurrent intakes take their locks in one order and cannot deadlock."""
    keys: list[PersonKey] = []
    email = normalize_email(data.get("email"))
    if email:
        keys.append(("email", email))
    key = name_key(data)
    if key:
        keys.append(("name", key))
    elif not email and (record := record_key(data)):
        keys.append(("record", record))  # matched on it alone (`duplicates.person_leads`)
    return sorted(keys)


def lock_id(key: PersonKey) -> int:
    """A signed 64-bit number for `pg_advisory_xact_lock`, stable across processes
    (Python's `hash()` is salted per process, so it cannot be used)."""
    digest = hashlib.blake2b(f"lead-person:{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class NameKey(Func):
    """`normalize_name` in SQL, for the functional index and the lookup that uses it.

    PostgreSQL collapses any whitespace run with `regexp_replace` (immutable, so it may
    be indexed); SQLite has no regular expressions, so it folds runs of spaces by repeated
    `REPLACE` (up to 16 in a row) and lower-cases ASCII only: SQLite serves development
    and tests, PostgreSQL production."""

    arity = 1

    def __init__(self, first: str, last: str) -> None:
        joined = Concat(F(first), Value(" "), F(last), output_field=CharField())
        super().__init__(joined, output_field=CharField())

    def as_sql(  # type: ignore[override]  # the vendor templates below
        self, compiler: Any, connection: Any, **extra: Any
    ) -> Any:
        template = "LOWER(TRIM(%(expressions)s))"
        for _ in range(4):
            template = f"REPLACE({template}, '  ', ' ')"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = r"BTRIM(LOWER(REGEXP_REPLACE(%(expressions)s, '\s+', ' ', 'g')))"
        return super().as_sql(compiler, connection, template=template, **extra)
