"""The demo's lead capture: two web forms on the website with a quarter of posts behind
them, and the webhook's intake keys (one in use, one revoked).

The forms and keys are made through the capture services, so the settings pages show
who made them and when. The posts point at demo leads the generator already wrote with
the form's campaign (a web form's lead is one of those), so the counts on the forms page
agree with the funnel; a few returning visitors, some refusals and the spam a real
website attracts come on top. Deterministic for a given seed.

Wiring (in `demo.seed.seed_demo`, after the leads are written, inside its transaction):

    capture = seed_capture(now=now, users=users)

and in `demo.seed.delete_demo_data`, before the demo leads are deleted:

    deleted |= delete_demo_capture()
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from capture.models import CaptureChange, FormSubmission, IntakeKey, SubmissionOutcome, WebForm
from capture.services.forms import web_form_create
from capture.services.keys import intake_key_create, intake_key_revoke
from crm.models import User
from crm.versioning import as_jsonable
from leads.models import Lead, Source

WINDOW = datetime.timedelta(days=90)
MAX_LEADS_PER_FORM = 80
SPAM_SHARE = 0.12
INVALID_SHARE = 0.06
RETURNING_SHARE = 0.08


@dataclass(frozen=True)
class FormSpec:
    name: str
    source: str
    campaign: str
    fields: tuple[str, ...]
    thank_you_message: str = ""
    redirect_url: str = ""
    allowed_origins: tuple[str, ...] = ()
    age_days: int = 120


DEMO_FORMS = (
    FormSpec(
        "Demo request – website",
        Source.INBOUND,
        "Website demo request",
        ("first_name", "last_name", "email", "phone", "company_name", "job_title", "country"),
        thank_you_message="Thanks! One of our team will call you within one working day "
        "to set up your demo.",
        allowed_origins=("https://www.threshold.example",),
        age_days=300,
    ),
    FormSpec(
        "Webinar sign-up",
        Source.EVENT,
        "Webinar: from MQL to pipeline",
        ("first_name", "last_name", "email", "company_name", "job_title", "employee_count"),
        redirect_url="https://www.threshold.example/webinars/thank-you",
        allowed_origins=("https://www.threshold.example", "https://events.threshold.example"),
        age_days=100,
    ),
)


@dataclass(frozen=True)
class CaptureDemo:
    """What the seed made. `key_secret` is the live key's secret, for the seed command to
    print: it is stored nowhere (only its hash), so this is the one chance to try the
    webhook with it."""

    forms: list[WebForm]
    submissions: int
    key_secret: str


def seed_capture(*, now: datetime.datetime, users: dict[str, User], seed: int = 42) -> CaptureDemo:
    """Make the demo's forms, their posts and the intake keys (see the module docstring)."""
    rng = random.Random(seed)
    revops = users["revops"]
    forms = [_form(spec, by=revops, now=now) for spec in DEMO_FORMS]
    submissions = sum(_posts(form, rng=rng, now=now) for form in forms)
    live = intake_key_create(by=revops, name="HubSpot: website chat leads")
    old = intake_key_create(by=revops, name="Marketo (retired)")
    intake_key_revoke(key_id=old.key.pk, by=revops)
    _backdate_key(
        live.key,
        made=now - datetime.timedelta(days=60),
        last_used=now - datetime.timedelta(hours=3),
    )
    _backdate_key(
        old.key,
        made=now - datetime.timedelta(days=400),
        last_used=now - datetime.timedelta(days=75),
        revoked=now - datetime.timedelta(days=70),
    )
    return CaptureDemo(forms=forms, submissions=submissions, key_secret=live.secret)


def _backdate_key(
    key: IntakeKey,
    *,
    made: datetime.datetime,
    last_used: datetime.datetime,
    revoked: datetime.datetime | None = None,
) -> None:
    """Move a key the services just made (and maybe revoked) back in time, its history
    with it: the list and the change history tell the same dates."""
    IntakeKey.objects.filter(pk=key.pk).update(
        is_demo=True, created_at=made, last_used_at=last_used, revoked_at=revoked
    )
    changes = CaptureChange.objects.filter(kind=CaptureChange.Kind.INTAKE_KEY, object_id=key.pk)
    changes.filter(old={}).update(at=made)
    if revoked is not None:
        changes.filter(old__has_key="revoked_at").update(
            at=revoked, new={"revoked_at": as_jsonable(revoked)}
        )


def _form(spec: FormSpec, *, by: User, now: datetime.datetime) -> WebForm:
    form = web_form_create(
        by=by,
        data={
            "name": spec.name,
            "source": spec.source,
            "campaign": spec.campaign,
            "fields": list(spec.fields),
            "thank_you_message": spec.thank_you_message,
            "redirect_url": spec.redirect_url,
            "allowed_origins": list(spec.allowed_origins),
        },
    )
    made = now - datetime.timedelta(days=spec.age_days)
    WebForm.objects.filter(pk=form.pk).update(is_demo=True, created_at=made, updated_at=made)
    CaptureChange.objects.filter(kind=CaptureChange.Kind.WEB_FORM, object_id=form.pk).update(
        at=made
    )
    form.refresh_from_db()
    return form


def _posts(form: WebForm, *, rng: random.Random, now: datetime.datetime) -> int:
    """The form's posts over the last quarter: one per demo lead of its campaign, some
    people coming back, and the refusals and spam."""
    since = max(form.created_at, now - WINDOW)
    leads = list(
        Lead.objects.filter(
            is_demo=True, campaign=form.campaign, created_at__gte=since, created_at__lte=now
        )
        .order_by("created_at", "pk")
        .values_list("pk", "created_at")[:MAX_LEADS_PER_FORM]
    )
    rows: list[FormSubmission] = []
    for pk, created_at in leads:
        rows.append(_row(form, rng, created_at, SubmissionOutcome.CREATED, lead_id=pk))
        if rng.random() < RETURNING_SHARE:
            again = min(now, created_at + datetime.timedelta(days=rng.randint(2, 30)))
            rows.append(_row(form, rng, again, SubmissionOutcome.DEDUPLICATED, lead_id=pk))
    posts = max(len(leads), 10)
    for share, outcome, problems in (
        (SPAM_SHARE, SubmissionOutcome.SPAM, []),
        (
            INVALID_SHARE,
            SubmissionOutcome.INVALID,
            [{"code": "contact_unreachable", "field": "email"}],
        ),
    ):
        for _ in range(max(1, round(posts * share))):
            at = since + (now - since) * rng.random()
            rows.append(_row(form, rng, at, outcome, problems=problems))
    rows.append(_row(form, rng, now - datetime.timedelta(days=9), SubmissionOutcome.THROTTLED))
    FormSubmission.objects.bulk_create(rows)
    return len(rows)


def _row(
    form: WebForm,
    rng: random.Random,
    at: datetime.datetime,
    outcome: str,
    *,
    lead_id: int | None = None,
    problems: list[dict[str, Any]] | None = None,
) -> FormSubmission:
    origin = form.allowed_origins[0] if form.allowed_origins else ""
    return FormSubmission(
        form=form,
        at=at,
        ip_hash=f"{rng.getrandbits(256):064x}",
        origin=origin if outcome != SubmissionOutcome.SPAM else "",
        outcome=outcome,
        lead_id=lead_id,
        problems=problems or [],
    )


def delete_demo_capture() -> dict[str, int]:
    """Delete the demo's forms, posts and keys, and whatever demo users made in the app
    meanwhile (a form a demo RevOps created in a session): otherwise those rows would
    keep the demo users and leads from being deleted. Posts to real forms that found a
    demo lead lose the link, not the row."""
    demo_users = User.objects.filter(is_demo=True)
    forms = WebForm.objects.filter(Q(is_demo=True) | Q(created_by__in=demo_users))
    keys = IntakeKey.objects.filter(
        Q(is_demo=True) | Q(created_by__in=demo_users) | Q(revoked_by__in=demo_users)
    )
    changes = CaptureChange.objects.filter(
        Q(actor__in=demo_users)
        | Q(kind=CaptureChange.Kind.WEB_FORM, object_id__in=forms.values("pk"))
        | Q(kind=CaptureChange.Kind.INTAKE_KEY, object_id__in=keys.values("pk"))
    )
    deleted = {
        "capture changes": changes.delete()[0],
        "form submissions": FormSubmission.objects.filter(form__in=forms).delete()[0],
        "web forms": forms.delete()[0],
        "intake keys": keys.delete()[0],
    }
    FormSubmission.objects.filter(lead__is_demo=True).update(lead=None)
    return deleted
