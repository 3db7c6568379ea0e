"""Thin Celery wrappers for leads: load rows, do the external effect."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

# The delivery key's headers on the message (crm/outbox/mail.py): sent twice, seen once.
from crm.outbox.mail import send_mail
from leads.models import Lead


@shared_task(
    name="leads.tasks.marketing_feedback_task", autoretry_for=(OSError,), retry_backoff=True
)
def marketing_feedback_task(*, lead_id: int, outcome: str, rationale: str) -> None:
    """Tell marketing what sales did with a lead (closed-loop feedback). Marketing is an
    address, not a person with settings: it reads the site's language, as does `outcome`
    (`leads.services.lifecycle._tell_marketing`), whoever's worker sends it."""
    from django.utils import translation
    from django.utils.translation import gettext as _

    lead = Lead.objects.select_related("rejection_reason").filter(pk=lead_id).first()
    if lead is None:
        return
    subject = f"[Threshold] {lead.company_name}: {outcome}"
    with translation.override(settings.LANGUAGE_CODE):
        body = (
            f"{_('Lead')}: {lead.company_name} — {lead.full_name}\n"
            f"{_('Source')}: {lead.get_source_display()}  "
            f"{_('Campaign')}: {lead.campaign or '-'}\n"
            f"{_('Outcome')}: {outcome}\n"
            f"{_('Rationale')}: {rationale or '-'}\n"
        )
    send_mail(subject, body, None, [settings.THRESHOLD_MARKETING_EMAIL])


@shared_task(name="leads.tasks.handoff_email_task")
def handoff_email_task(*, handoff_id: int) -> bool:
    """The outbox's handler for the AE's hand-off e-mail: the package, a link to the lead,
    and the discovery meeting as a calendar invitation (`leads.invitations`) in the AE's
    time zone and language. Checked when sent: an AE who left, has no address or turned
    hand-off e-mails off gets nothing (False)."""
    from email.mime.text import MIMEText

    from django.core.mail import EmailMessage
    from django.urls import reverse

    from crm.models import Notification
    from crm.outbox.mail import delivery_headers
    from crm.preferences import addressing, wants_email
    from leads.gate import HANDOFF_FIELDS
    from leads.invitations import discovery_invitation
    from leads.models import Handoff

    handoff = (
        Handoff.objects.select_related("lead", "from_user", "to_user").filter(pk=handoff_id).first()
    )
    if handoff is None:
        return False
    ae = handoff.to_user
    if not (ae.is_active and ae.email):
        return False
    if not wants_email(ae.notification_preferences, Notification.Kind.HANDOFF):
        return False
    url = settings.THRESHOLD_BASE_URL.rstrip("/") + reverse("leads:detail", args=[handoff.lead_id])
    with addressing(ae):
        subject, body = _handoff_email_text(handoff, url, fields=list(HANDOFF_FIELDS))
        invitation = discovery_invitation(handoff, url=url)
    message = EmailMessage(subject, body, None, [ae.email], headers=delivery_headers())
    part = MIMEText(invitation, "calendar", "utf-8")
    part.set_param("method", "REQUEST")
    part.add_header("Content-Disposition", "attachment", filename="discovery.ics")
    message.attach(part)
    message.send()
    return True


def _handoff_email_text(handoff: Any, url: str, *, fields: list[str]) -> tuple[str, str]:
    """Subject and body in the active language and time zone (the AE's)."""
    from django.utils import timezone
    from django.utils.formats import date_format
    from django.utils.text import capfirst
    from django.utils.translation import gettext as _

    lead = handoff.lead
    when = date_format(timezone.localtime(handoff.discovery_meeting_at), "j M Y, H:i")
    zone = timezone.get_current_timezone_name()
    subject = _("Hand-off: %(company)s, discovery on %(when)s") % {
        "company": lead.company_name,
        "when": when,
    }
    package = "\n\n".join(
        f"{capfirst(handoff._meta.get_field(name).verbose_name)}:\n{getattr(handoff, name)}"
        for name in fields
    )
    body = "\n\n".join(
        [
            _("%(sdr)s handed off %(company)s (%(person)s) to you.")
            % {"sdr": handoff.from_user, "company": lead.company_name, "person": lead.full_name},
            _("Discovery call: %(when)s (%(zone)s). The invitation is attached.")
            % {"when": when, "zone": zone},
            package,
            url,
        ]
    )
    return subject, body
