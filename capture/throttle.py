"""Rate limits for the public form endpoint and the webhook: `crm.rate_limits`' fixed-window
counters, with capture's own rates.

While the cache is down every request is let through (fail open): losing lead capture
because the cache is down would cost more than an hour of unthrottled spam, and the
honeypot and size limits still hold.

Rates are settings, `"<count>/<period>"` where the period is `s`, `min`, `h` or `d`, with
an optional multiplier (`"20/10min"`); the defaults are below.
"""

from __future__ import annotations

from django.conf import settings

from crm import rate_limits
from crm.rate_limits import Rate, Verdict

__all__ = ["DEFAULT_RATES", "Rate", "Verdict", "rate", "take"]

DEFAULT_RATES = {
    # Posts from one client address to any form. An office behind one NAT address can
    # sign up for a webinar together; a bot cannot post at will.
    "CAPTURE_RATE_FORM_PER_IP": "20/10min",
    # Posts to one form from everyone: caps what a distributed flood can insert.
    "CAPTURE_RATE_FORM": "300/min",
    # Requests with one intake key (each up to 500 leads).
    "CAPTURE_RATE_INTAKE_KEY": "120/min",
}


def rate(setting: str) -> Rate:
    return Rate.parse(str(getattr(settings, setting, DEFAULT_RATES[setting])))


def take(scope: str, ident: str, limit: Rate, *, now: float | None = None) -> Verdict:
    """Count one request of `ident` in capture's `scope`; refuse it when the window is full."""
    return rate_limits.take(f"capture:{scope}", ident, limit, now=now)
