"""Thin Celery wrappers for leads: load rows, do the external effect."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from leads.models import Lead


@shared_task(
    name="leads.tasks.marketing_feedback_task", autoretry_for=(OSError,), retry_backoff=True
)
def marketing_feedback_task(*, lead_id: int, outcome: str, rationale: str) -> None:
    """Tell marketing what sales did with a lead (closed-loop feedback)."""
    lead = Lead.objects.select_related("rejection_reason").filter(pk=lead_id).first()
    if lead is None:
        return
    subject = f"[Threshold] {lead.company_name}: {outcome}"
    body = (
        f"Lead: {lead.company_name} — {lead.full_name}\n"
        f"Source: {lead.get_source_display()}  Campaign: {lead.campaign or '-'}\n"
        f"Outcome: {outcome}\n"
        f"Rationale: {rationale or '-'}\n"
    )
    send_mail(subject, body, None, [settings.THRESHOLD_MARKETING_EMAIL])
