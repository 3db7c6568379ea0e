"""Reads for the capture settings: forms with their submission counts, a form's recent
posts, the intake keys, the change history. Counts are one aggregate query, never a loop."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from capture.fields import FORM_FIELDS
from capture.models import CaptureChange, FormSubmission, IntakeKey, SubmissionOutcome, WebForm

COUNT_NAMES = {outcome.value: f"n_{outcome.value}" for outcome in SubmissionOutcome}


def web_forms() -> QuerySet[WebForm]:
    """Every form with `n_<outcome>` counts of its submissions and `last_submission_at`."""
    counts = {
        name: Count("submissions", filter=Q(submissions__outcome=outcome))
        for outcome, name in COUNT_NAMES.items()
    }
    return (
        WebForm.objects.select_related("created_by")
        .annotate(last_submission_at=Max("submissions__at"), **counts)
        .order_by("name", "pk")
    )


def web_form(pk: int) -> WebForm:
    return web_forms().get(pk=pk)


def submission_counts(form: WebForm) -> dict[str, int]:
    """{outcome: count} from a form that came from `web_forms()`."""
    return {outcome: int(getattr(form, name, 0) or 0) for outcome, name in COUNT_NAMES.items()}


def recent_submissions(form: WebForm, *, limit: int = 20) -> list[FormSubmission]:
    """The form's last posts, each with `refused_fields`: the labels of the fields a
    refused post failed on ("Country, Work e-mail"), so RevOps can tell a visitor's typo
    from a snippet that asks for something the form cannot take."""
    rows = list(
        FormSubmission.objects.filter(form=form)
        .select_related("lead", "lead__owner")
        .order_by("-at", "-id")[:limit]
    )
    for row in rows:
        fields = dict.fromkeys(p.get("field") for p in row.problems if p.get("field"))
        row.refused_fields = ", ".join(
            str(FORM_FIELDS[name].label) if name in FORM_FIELDS else name for name in fields
        )
    return rows


def intake_keys() -> QuerySet[IntakeKey]:
    return IntakeKey.objects.select_related("created_by", "revoked_by").order_by(
        "-created_at", "-id"
    )


def changes(kind: str, *, object_id: int | None = None, limit: int = 20) -> list[CaptureChange]:
    rows = CaptureChange.objects.filter(kind=kind).select_related("actor")
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    return list(rows.order_by("-at", "-id")[:limit])
