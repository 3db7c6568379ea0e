"""The HTML RevOps pastes into a web page to show a form: a plain `<form method="post">`
that works without JavaScript, and a variant that posts JSON with `fetch` and shows the
answer in place. Both are rendered by templates, so every label and value is escaped."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse

from capture.fields import FORM_FIELDS, HONEYPOT, FieldSpec, visitor_must_fill
from capture.models import WebForm
from crm.countries import country_choices
from leads.models import Lead


@dataclass(frozen=True)
class SnippetField:
    name: str
    spec: FieldSpec
    required: bool
    max_length: int | None
    # A select's (value, label) pairs: the country, so a visitor cannot type one that
    # names nothing (the hosted form shows the same list).
    options: list[tuple[str, str]] | None = None


def public_path(form: WebForm) -> str:
    return reverse("capture:public_form", args=[form.key])


def snippet_fields(form: WebForm) -> list[SnippetField]:
    required = visitor_must_fill(form.fields)
    rows = []
    for name in form.fields:
        spec = FORM_FIELDS.get(name)
        if spec is None:
            continue
        max_length = getattr(Lead._meta.get_field(name), "max_length", None)
        options = country_choices() if name == "country" else None
        rows.append(SnippetField(name, spec, name in required, max_length, options))
    return rows


def html_snippet(form: WebForm, *, action: str) -> str:
    """A plain HTML form posting to `action` (the absolute URL of /f/<key>/)."""
    return render_to_string(
        "capture/snippet/form.html",
        {"form": form, "action": action, "fields": snippet_fields(form), "honeypot": HONEYPOT},
    ).strip()


def fetch_snippet(form: WebForm, *, action: str) -> str:
    """The same form, posted as JSON by a short script (needs the page's site among the
    form's allowed origins: the browser asks first, CORS)."""
    return render_to_string(
        "capture/snippet/fetch.html",
        {
            "form": form,
            "action": action,
            "fields": snippet_fields(form),
            "honeypot": HONEYPOT,
            "form_id": f"threshold-form-{form.key}",
        },
    ).strip()
