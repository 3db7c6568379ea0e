"""The sign-in protection page (Settings): the policy, who is locked out now with an
Unlock button, recent failed sign-ins and the history of changes. RevOps edits and
unlocks; managers read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exceptions import Problem, ValidationFailed
from crm.security import policy as login_policy
from crm.security import selectors, services
from crm.security.access import may, require
from crm.security.forms import LoginPolicyForm, UnlockForm
from crm.web.errors import set_back_url
from crm.web.forms import submit
from crm.web.requests import AuthedHttpRequest

PAGE = "security:login_protection"


def _render(
    request: AuthedHttpRequest, form: LoginPolicyForm | None, status: int = 200
) -> HttpResponse:
    policy = login_policy.current()
    can_edit = may(request.user, "edit")
    now = timezone.now()
    return render(
        request,
        "crm/security/login_protection.html",
        {
            "policy": policy,
            "form": (form or LoginPolicyForm.for_policy(policy)) if can_edit else None,
            "can_edit": can_edit,
            "lockouts": selectors.lockouts(policy=policy, now=now),
            "failures": selectors.recent_failures(),
            "history": selectors.history(),
            "now": now,
        },
        status=status,
    )


@login_required
@require_GET
def login_protection(request: AuthedHttpRequest) -> HttpResponse:
    require(request.user, "view")
    return _render(request, None)


@login_required
@require_POST
def policy_edit(request: AuthedHttpRequest) -> HttpResponse:
    require(request.user, "edit")
    form = LoginPolicyForm(request.POST)
    if form.is_valid() and (
        edit := submit(
            form,
            lambda: services.login_policy_update(
                by=request.user,
                failure_limit=form.cleaned_data["failure_limit"],
                window_minutes=form.cleaned_data["window_minutes"],
            ),
        )
    ):
        if edit.change is None:
            messages.info(request, _("Nothing changed: the policy already had these numbers."))
        else:
            messages.success(
                request,
                _(
                    "Saved: %(limit)d failed sign-ins within %(window)d minutes lock an account "
                    "from that address, from the next attempt on."
                )
                % {"limit": edit.policy.failure_limit, "window": edit.policy.window_minutes},
            )
        return redirect(PAGE)
    return _render(request, form, status=400)


@login_required
@require_POST
def unlock(request: AuthedHttpRequest) -> HttpResponse:
    require(request.user, "edit")
    set_back_url(request, reverse(PAGE))
    form = UnlockForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(
            problems=[Problem("invalid", None, _("That lockout could not be read. Try again."))]
        )
    username = form.cleaned_data["username"] or None
    address = form.cleaned_data["ip_address"] or None
    services.lockout_release(by=request.user, username=username, ip_address=address)
    messages.success(
        request,
        _("Unlocked %(username)s from %(address)s: they can sign in again now.")
        % {"username": username or _("(no username)"), "address": address or "?"},
    )
    return redirect(PAGE)
