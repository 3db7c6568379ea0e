"""Request types for views behind `login_required` (HTML) and `IsAuthenticated` (API).

At run time these are Django's and DRF's request classes; the annotation tells the type
checker what authentication guarantees: `request.user` is a `crm.models.User`, and
django-htmx has put `request.htmx` on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails
    from rest_framework.request import Request

    from crm.models import User

    class AuthedHttpRequest(HttpRequest):
        user: User  # narrowed by login_required
        htmx: HtmxDetails

    class AuthedRequest(Request):
        user: User  # narrowed by IsAuthenticated

else:
    from rest_framework.request import Request

    AuthedHttpRequest = HttpRequest
    AuthedRequest = Request

__all__ = ["AuthedHttpRequest", "AuthedRequest"]
