"""What a locked-out client is told: the sign-in page with the reason and the wait, or the
API's JSON error. `AXES_LOCKOUT_CALLABLE` names `response`; the token endpoint raises
`LockedOut` through the API's one error mapping with the same words."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext

from crm.security import policy as login_policy
from crm.security.selectors import lockout_for

CODE = "locked_out"


def message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-ins for this account from your address. Try again in "
        "%(minutes)d minute or ask RevOps to unlock it.",
        "Too many failed sign-ins for this account from your address. Try again in "
        "%(minutes)d minutes or ask RevOps to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def minutes_left(request: Any, username: str | None) -> int:
    """Minutes until the lockout of `username` from the request's address ends."""
    policy = login_policy.current(request)
    now = timezone.now()
    lockout = lockout_for(
        username, getattr(request, "axes_ip_address", None), policy=policy, now=now
    )
    return lockout.minutes_left(now) if lockout else policy.window_minutes


def response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """`AXES_LOCKOUT_CALLABLE`: 429 with a Retry-After, as the sign-in page or JSON."""
    username = get_client_username(request, credentials)
    minutes = minutes_left(request, username)
    text = message(minutes)
    answer: HttpResponse
    if request.path.startswith("/api/"):
        answer = JsonResponse(
            {"errors": [{"code": CODE, "field": None, "message": text}]}, status=429
        )
    else:
        answer = render(
            request,
            "registration/login.html",
            {
                "form": AuthenticationForm(request, initial={"username": username or ""}),
                "lockout_message": text,
                "next": request.POST.get("next", ""),
            },
            status=429,
        )
    answer["Retry-After"] = str(minutes * 60)
    return answer


def forget_failures(request: Any, username: str) -> None:
    """A successful sign-in clears its own failures (`AXES_RESET_ON_SUCCESS` for the
    browser; the token endpoint signs in without Django's `user_logged_in`)."""
    AccessAttempt.objects.filter(
        username=username, ip_address=getattr(request, "axes_ip_address", None)
    ).delete()
