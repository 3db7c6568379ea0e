"""One mapping from domain errors to HTML responses, as `crm.api.exceptions` is for the API.

Views call services and let `DomainError`s rise. Field problems are put on the form by
`crm.web.forms.submit`; whatever is left reaches `DomainErrorMiddleware`, which answers:

- `NotFound` → 404 page, `NotAllowed` → 403 page (never a half-rendered form), but for
  `MergedAway`: a message and a redirect back, as below (the user's role is not why);
- `InvalidTransition`, `StaleVersion` and any other `DomainError` → a message and a redirect
  back to the page the user came from (the object's page), so they see its current state;
  an htmx request gets the same as an `HX-Redirect`.

No view writes `except NotAllowed / InvalidTransition / StaleVersion` again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found, permission_denied

from crm.exceptions import (
    DomainError,
    InvalidTransition,
    MergedAway,
    NotAllowed,
    NotFound,
    StaleVersion,
)

StrOrPromise = str | Promise


@dataclass(frozen=True)
class SubjectWording:
    """How refusals read for one kind of object ("the lead"), in the user's language.

    Whole sentences per kind, not a noun spliced into one sentence: translations need
    to inflect and reorder around the noun.
    """

    not_possible: StrOrPromise  # with %(status)s
    stale: StrOrPromise
    states: Mapping[str, StrOrPromise] = field(default_factory=dict)


_GENERIC = SubjectWording(
    not_possible=gettext_lazy(
        "That step is not possible while the record is %(status)s. "
        "The page now shows its current state."
    ),
    stale=gettext_lazy(
        "Someone else changed this record while you had it open, so nothing was saved. "
        "Check its current state below and try again."
    ),
)
_wordings: dict[str, SubjectWording] = {}

# Where to send the user back to after a refused step, and what they were working on;
# set by `set_back_url` in the view.
BACK_URL_ATTRIBUTE = "threshold_back_url"
SUBJECT_ATTRIBUTE = "threshold_subject"


def register_subject(subject: str, wording: SubjectWording) -> None:
    """Called by an app at start-up: how refusals about its `subject` read."""
    _wordings[subject] = wording


def _wording(request: HttpRequest) -> SubjectWording:
    return _wordings.get(getattr(request, SUBJECT_ATTRIBUTE, ""), _GENERIC)


def transition_message(request: HttpRequest, error: InvalidTransition) -> str:
    wording = _wording(request)
    state = wording.states.get(error.current, error.current)
    return str(wording.not_possible) % {"status": state}


def problems_message(error: DomainError) -> str:
    return " ".join(str(problem.message) for problem in error.problems)


def back_url(request: HttpRequest) -> str:
    """The page to return to: the view's own choice, else a same-site Referer, else home."""
    chosen = getattr(request, BACK_URL_ATTRIBUTE, None)
    if chosen:
        return str(chosen)
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def set_back_url(request: HttpRequest, url: str, *, subject: str = "") -> None:
    """Name the page a refused step returns to (usually the object's own page) and the
    kind of object it is about (a `register_subject` key), for the message's wording."""
    setattr(request, BACK_URL_ATTRIBUTE, url)
    setattr(request, SUBJECT_ATTRIBUTE, subject)


def redirect_back(request: HttpRequest) -> HttpResponse:
    url = back_url(request)
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The one place a domain error becomes an HTML response."""
    if isinstance(error, NotFound):
        return page_not_found(request, Http404(str(error)))
    if isinstance(error, MergedAway):  # not the user's role: the page says where to go
        messages.error(request, problems_message(error))
        return redirect_back(request)
    if isinstance(error, NotAllowed):
        return permission_denied(request, PermissionDenied(str(error)))
    if isinstance(error, InvalidTransition):
        messages.error(request, transition_message(request, error))
    elif isinstance(error, StaleVersion):
        messages.warning(request, str(_wording(request).stale))
    else:
        messages.error(request, problems_message(error))
    return redirect_back(request)


class DomainErrorMiddleware:
    """Turns a `DomainError` escaping an HTML view into a page; the API maps its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/"):
            return None  # DRF's exception handler answered already; never reached in practice
        return domain_error_response(request, exception)
