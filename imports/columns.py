"""What a file's columns and values mean: headers of Salesforce, HubSpot and Pipedrive lead
exports (and the usual variants) mapped onto lead fields, their picklist values (lead
source, lead status, segment, country) onto ours, and the date format of each column.

Everything here is pure: the mapping step proposes with it, the run converts with it.
Headers and values are compared normalized (`normalized`): case, accents kept, every run
of punctuation, underscores or spaces one space, camelCase split, so "E-mail Address",
"email_address" and "EmailAddress" are one name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache, lru_cache

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from leads.models import Lead, Segment, Source

Status = Lead.Status

# The lead fields a column can fill, in the order the mapping page lists them. Besides the
# lead's own fields: a full name split in two, the status, the created date, the owner.
TARGETS: dict[str, object] = {
    "company_name": _("Company"),
    "company_domain": _("Company web domain"),
    "industry": _("Industry"),
    "employee_count": _("Employees"),
    "segment": _("Segment"),
    "territory": _("Territory"),
    "country": _("Country"),
    "full_name": _("Full name (split into first and last)"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "email": _("E-mail"),
    "phone": _("Phone"),
    "job_title": _("Job title"),
    "source": _("Lead source"),
    "campaign": _("Campaign"),
    "score": _("Lead score"),
    "status": _("Lead status"),
    "created_at": _("Created date"),
    "owner": _("Owner (SDR or manager)"),
    "lost_to_competitor": _("Lost to competitor"),
}

# Normalized header -> target. Salesforce (labels and API names), HubSpot (labels and
# internal names), Pipedrive ("Person - Email", "Organization - Name", "Lead - ..."), Zoho
# and plain variants. A file's first column that maps to a target takes it.
_ALIASES: dict[str, tuple[str, ...]] = {
    "company_name": (
        "company", "company name", "account", "account name", "organization",
        "organisation", "organization name", "organisation name", "org", "business name",
        "employer", "organization - name", "lead organization", "associated company",
    ),
    "company_domain": (
        "website", "web site", "company website", "website url", "domain", "company domain",
        "company domain name", "url", "web", "organization website", "organization - website",
    ),
    "industry": ("industry", "organization industry", "organization - industry", "sector"),
    "employee_count": (
        "employees", "no of employees", "number of employees", "numberofemployees",
        "employee count", "company size", "headcount", "organization number of employees",
    ),
    "segment": ("segment", "company segment", "market segment", "customer segment"),
    "territory": ("territory", "sales territory", "region", "sales region"),
    "country": (
        "country", "country region", "country code", "mailing country", "billing country",
        "address country", "person country", "organization country",
        "organization - address - country",
    ),
    "full_name": (
        "name", "full name", "contact name", "lead name", "person name", "person - name",
        "person", "contact",
    ),
    "first_name": (
        "first name", "firstname", "first", "given name", "forename", "person first name",
        "person - first name", "contact first name",
    ),
    "last_name": (
        "last name", "lastname", "last", "surname", "family name", "person last name",
        "person - last name", "contact last name",
    ),
    "email": (
        "email", "e mail", "email address", "e mail address", "mail", "work email",
        "business email", "primary email", "person email", "person email work",
        "person - email", "person - email - work", "contact email", "emailaddress",
    ),
    "phone": (
        "phone", "phone number", "telephone", "tel", "mobile", "mobile phone",
        "mobile phone number", "mobilephone", "work phone", "business phone", "person phone",
        "person phone work", "person - phone", "person - phone - work",
    ),
    "job_title": (
        "title", "job title", "jobtitle", "position", "role", "job", "person job title",
        "person - job title",
    ),
    "source": (
        "lead source", "source", "leadsource", "original source", "original source type",
        "hs analytics source", "source channel", "lead source channel", "lead - source",
        "lead - source channel", "lead - source origin", "source origin", "channel",
        "latest source",
    ),
    "campaign": (
        "campaign", "campaign name", "primary campaign source", "utm campaign",
        "lead campaign", "original source drill down 2",
    ),
    # "HubSpot Score" normalizes to "hub spot score" (camelCase split): both spellings.
    "score": (
        "lead score", "score", "hubspot score", "HubSpot Score", "hubspotscore",
        "rating score",
    ),
    "status": (
        "lead status", "status", "hs lead status", "lifecycle stage", "lifecyclestage",
        "lead stage", "stage", "lead - status",
    ),
    "created_at": (
        "created date", "create date", "createdate", "created", "date created", "created on",
        "creation date", "created time", "lead created", "lead - lead created",
        "lead - created", "created at", "date added", "added on",
    ),
    "owner": (
        "lead owner", "owner", "owner name", "owner email", "hubspot owner", "contact owner",
        "lead - owner", "assigned to", "sales rep", "sdr", "HubSpot Owner",
    ),
    "lost_to_competitor": ("lost to competitor", "competitor"),
}  # fmt: skip

# Picklist values (normalized) -> ours. Salesforce's standard lead sources, HubSpot's
# "Original source" (labels and API values), Pipedrive's source channels.
SOURCE_VALUES: dict[str, tuple[str, ...]] = {
    Source.INBOUND: (
        "inbound", "web", "website", "web form", "web forms", "webform", "organic search",
        "paid search", "direct traffic", "organic social", "paid social", "social media",
        "social", "email marketing", "email", "e mail", "advertisement", "ad", "ads",
        "public relations", "pr", "phone inquiry", "inbound call", "live chat", "chat",
        "chatbot", "ai referrals", "other campaigns", "leadbooster", "content", "seo",
        "ppc", "google ads", "linkedin ads", "facebook ads", "marketing", "demo request",
        "contact us", "download", "newsletter",
    ),
    Source.OUTBOUND: (
        "outbound", "purchased list", "list", "cold call", "cold calling", "cold email",
        "prospecting", "prospector", "outreach", "sales outreach", "sdr outreach",
        "sales generated", "sales", "linkedin outreach", "sales navigator",
    ),
    Source.REFERRAL: (
        "referral", "employee referral", "external referral", "customer referral",
        "word of mouth", "recommendation", "referred",
        # HubSpot's original source "Referrals": what a CRM user calls a referral.
        "referrals",
    ),
    Source.EVENT: (
        "event", "events", "event webinar", "trade show", "tradeshow", "conference",
        "webinar", "seminar", "seminar internal", "seminar partner", "meetup", "expo",
        "workshop", "roadshow",
    ),
    Source.PARTNER: (
        "partner", "partner referral", "partners", "reseller", "channel partner",
        "marketplace", "affiliate", "alliance",
    ),
    Source.OTHER: (
        "other", "offline sources", "offline", "manually created", "manual", "import",
        "imported", "api", "integration", "unknown",
    ),
}  # fmt: skip

# Statuses a lead can come in with, and those it cannot (Threshold qualifies and converts).
STATUS_VALUES: dict[str, tuple[str, ...]] = {
    Status.MQL: (
        "mql", "new", "open", "open not contacted", "not contacted", "lead", "subscriber",
        "marketing qualified lead", "marketingqualifiedlead", "marketing qualified",
        "unassigned", "raw",
    ),
    Status.SAL: (
        "sal", "working", "working contacted", "contacted", "in progress",
        "attempted to contact", "connected", "accepted", "sales accepted lead",
        "sales accepted", "engaged", "working on it",
    ),
    Status.NURTURE: ("nurture", "nurturing", "bad timing", "recycled", "recycle", "on hold"),
    Status.DISQUALIFIED: (
        "disqualified", "closed not converted", "unqualified", "not qualified", "junk",
        "not interested", "bad fit", "lost", "closed lost", "dead", "archived",
    ),
    "": (
        "sql", "qualified", "sales qualified lead", "salesqualifiedlead", "sales qualified",
        "opportunity", "open deal", "closed converted", "converted", "customer", "evangelist",
        "won", "closed won", "rejected",
    ),
}  # fmt: skip
NOT_IMPORTABLE = ""  # the STATUS_VALUES key of the statuses a lead cannot come in with

SEGMENT_VALUES: dict[str, tuple[str, ...]] = {
    Segment.SMB: ("smb", "small business", "small", "sme", "small and medium business"),
    Segment.MID_MARKET: ("mid", "mid market", "midmarket", "medium", "mm", "commercial"),
    Segment.ENTERPRISE: ("enterprise", "large", "ent", "large enterprise", "strategic"),
}

_PUNCTUATION = re.compile(r"[\W_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=8192)  # a file repeats its picklist values on every row
def normalized(text: str) -> str:
    """ "E-mail Address" / "email_address" / "EmailAddress" -> "e mail address"."""
    text = _CAMEL.sub(" ", text.strip().lstrip("\ufeff"))
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def _in_every_language(labels: Callable[[], Iterable[tuple[object, str]]]) -> dict[str, str]:
    """(label, key) pairs as each of our languages words them (English first), the labels
    normalized: what our own pages and exports write, read back whatever the language."""
    from django.conf import settings

    found: dict[str, str] = {}
    for code in ["en", *(code for code, _name in settings.LANGUAGES if code != "en")]:
        with translation.override(code):
            for label, key in labels():
                found.setdefault(normalized(str(label)), key)
    return found


def _our_own_headers() -> Iterable[tuple[object, str]]:
    """The headers Threshold itself writes for a target: the lead export's
    (`leads.exports.lead_export_header`, field labels by `leads.selectors.field_label`) and
    the mapping page's own names of the targets."""
    from leads.selectors import field_label

    for target, label in TARGETS.items():
        yield label, target
        if target in _LEAD_FIELDS:
            yield field_label(target), target
    yield translation.gettext("Owner"), "owner"  # the export's column of the owner's name


_LEAD_FIELDS = frozenset(TARGETS) - {"full_name"}


@cache
def _alias_index() -> dict[str, str]:
    index = {normalized(alias): target for target, aliases in _ALIASES.items() for alias in aliases}
    # Our own export imports back as it is, in any language it was exported in.
    for alias, target in _in_every_language(_our_own_headers).items():
        index.setdefault(alias, target)
    return index


def _value_index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    index = {normalized(value): key for key, values in table.items() for value in values}
    index.update({normalized(str(key)): key for key in table if key})
    return index


def _choice_labels(choices: Callable[[], Iterable[tuple[str, object]]]) -> dict[str, str]:
    """A picklist's labels in every language -> its value (how our export writes it)."""
    return _in_every_language(lambda: ((label, value) for value, label in choices()))


@cache
def source_index() -> dict[str, str]:
    index = _value_index(SOURCE_VALUES)
    index.update(_choice_labels(lambda: Source.choices))
    return index


@cache
def status_index() -> dict[str, str]:
    index = _value_index(STATUS_VALUES)
    # A status label of ours reads as its English label does ("Baru" as "New": an MQL).
    english = {str(value): normalized(str(label)) for value, label in Lead.Status.choices}
    for label, value in _choice_labels(lambda: Lead.Status.choices).items():
        if english[value] in index:
            index.setdefault(label, index[english[value]])
    return index


@cache
def segment_index() -> dict[str, str]:
    index = _value_index(SEGMENT_VALUES)
    index.update(_choice_labels(lambda: Segment.choices))
    return index


def auto_map(headers: list[str]) -> list[str]:
    """The target of each column ("" for none), each target at most once: the first column
    whose header names it. "Person - Email - Work" and "Email" both name the e-mail."""
    aliases = _alias_index()
    taken: set[str] = set()
    columns = []
    for header in headers:
        target = aliases.get(normalized(header), "")
        if target in taken:
            target = ""
        taken.add(target)
        columns.append(target)
    if "first_name" in taken or "last_name" in taken:
        columns = ["" if target == "full_name" else target for target in columns]
    return columns


def field_columns(headers: list[str], columns: list[str]) -> dict[str, str]:
    """Each mapped lead field -> the header of the column that fills it (a full name column
    fills the first and the last name too): a row's problem is named as the user knows it."""
    found: dict[str, str] = {}
    for index, (header, target) in enumerate(zip(headers, columns, strict=False)):
        if target:
            found.setdefault(target, header or str(_("Column %(n)d") % {"n": index + 1}))
    if "full_name" in found:
        found.setdefault("first_name", found["full_name"])
        found.setdefault("last_name", found["full_name"])
    return found


def column_name(field: str | None, names: dict[str, str]) -> str:
    """What to call `field` in a row's problem: its column in the file (`field_columns`),
    else the field's own name ("Lead source", filled by a default); "" for the whole row."""
    if not field:
        return ""
    return names.get(field) or str(TARGETS.get(field, field))


def header_key(headers: list[str]) -> str:
    """Files with these headers (normalized, in order) share a remembered mapping."""
    import hashlib

    joined = "\x1f".join(normalized(h) for h in headers)
    return hashlib.sha256(joined.encode()).hexdigest()


# --- dates -----------------------------------------------------------------------------------

DATE_FORMATS: dict[str, object] = {
    "iso": _("Year-month-day (2024-01-31)"),
    "dmy": _("Day/month/year (31/01/2024)"),
    "mdy": _("Month/day/year (01/31/2024)"),
}
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)?"
ISO_DATE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + r"\s*(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
# Values of a column looked at to tell its date format: the whole sample the upload keeps
# (`imports.files.SAMPLE_ROWS`), as a day over 12 may come late in a file.
SAMPLED_DATES = 2_000
NUMERIC_DATE = re.compile(
    r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + r"\s*(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)


def detect_date_format(values: list[str], *, delimiter: str = ",") -> tuple[str, bool] | None:
    """(format, sure) for a column whose values are all dates; None when they are not.

    ISO when most values are year first; else day or month first, decided by a value whose
    first (day/month/year) or second (month/day/year) part is over 12. When none is, the
    column is ambiguous: day first for a semicolon file (Excel writes those in the locales
    that also write 31/01), month first otherwise, and `sure` is False. A value shaped as
    a date of the other kind, or a date in neither order ("2026-13-45" among 25/10/2026, a
    typo), is left to its row: it does not hide the order the other values show."""
    present = [v.strip() for v in values if v.strip()][:SAMPLED_DATES]
    if not present:
        return None
    iso = [v for v in present if ISO_DATE.fullmatch(v)]
    if len(iso) == len(present):
        return "iso", True
    numeric = [m for v in present if (m := NUMERIC_DATE.fullmatch(v))]
    if len(iso) + len(numeric) < len(present):
        return None  # a value that is no date at all: not a date column
    if len(iso) > len(numeric):
        return "iso", True
    # A value no order can read ("31/31/2026": both parts over 12) is that row's problem,
    # reported when the row is imported; it says nothing about the column's order.
    readable = [m for m in numeric if int(m.group(1)) <= 12 or int(m.group(2)) <= 12]
    if not readable:
        return None
    day_first = any(int(m.group(1)) > 12 for m in readable)
    month_first = any(int(m.group(2)) > 12 for m in readable)
    if day_first and not month_first:
        return "dmy", True
    if month_first and not day_first:
        return "mdy", True
    if day_first and month_first:
        return None
    return ("dmy" if delimiter == ";" else "mdy"), False
