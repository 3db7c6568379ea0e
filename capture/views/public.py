"""The public end of a web form: /f/<key>/, for visitors, without a login or a CSRF token.

- `GET` shows the hosted form (a page of its own, usable as is or in an iframe on the
  form's allowed sites); `OPTIONS` answers a browser's CORS preflight, for allowed sites
  only.
- `POST` (form-encoded, multipart or JSON) makes the lead through `lead_intake`: routed
  at once, or a touch on the person's live lead. A form post is answered with the
  thank-you page (or a 303 to the form's redirect); a JSON post (or one that accepts only
  JSON) with JSON. A bad post gets its field errors: the hosted form again, or
  `{"errors": [{"code", "field", "message"}]}`; never a 500.

What stands in the way of abuse, in the order it is checked: the per-address and per-form
rate limits (`capture.throttle`, failing open with the cache; a refused form post gets the
hosted form back with what was typed and how long to wait), the posting site (when the
form names its sites), the body's size, then the honeypot: a post that fills it is
answered exactly like a success and dropped. The visitor is never told whether they were
already a lead: a new lead and a duplicate read the same.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError

from capture import throttle
from capture.fields import HONEYPOT, REACH
from capture.forms import PublicLeadForm, json_form_data
from capture.models import SubmissionOutcome, WebForm
from capture.services.forms import normalize_origin
from capture.services.submissions import form_submission_refused, lead_values, web_form_submit
from crm.api.parsers import check_depth, max_depth
from crm.api.throttling import client_ip
from crm.exceptions import Problem, ValidationFailed
from crm.web.forms import put_on_form
from leads.gate import intake_problems

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DEFAULT_MAX_BODY = 16 * 1024  # a lead is a few hundred bytes; room for long names
PREFLIGHT_MAX_AGE = "600"


class Refusal(Exception):
    """A post refused before its fields are read: the status and one problem."""

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(problem.message)
        self.status = status
        self.problem = problem


def max_body() -> int:
    return int(getattr(settings, "CAPTURE_FORM_MAX_BODY", DEFAULT_MAX_BODY))


def client_hash(request: HttpRequest) -> str:
    """The client's address (by the API's `NUM_PROXIES` rule) as a keyed hash: what the
    rate limit counts and the submission row keeps, instead of the address itself."""
    return salted_hmac("capture.client", client_ip(request) or "", algorithm="sha256").hexdigest()


def wants_json(request: HttpRequest) -> bool:
    if request.content_type == JSON:
        return True
    if not request.headers.get("Accept"):
        return False
    return request.get_preferred_type(["text/html", JSON]) == JSON


def own_origin(request: HttpRequest) -> str:
    return normalize_origin(f"{request.scheme}://{request.get_host()}") or ""


def origin_allowed(request: HttpRequest, form: WebForm, origin: str) -> bool:
    """No `Origin` (a server posting), our own (the hosted form), one the form names, or
    any site when the form names none."""
    if not origin or not form.allowed_origins:
        return True
    return origin == own_origin(request) or origin in form.allowed_origins


# --- answers ---------------------------------------------------------------------------------


def _error_json(status: int, problems: list[Problem]) -> JsonResponse:
    return JsonResponse({"errors": [p.as_dict() for p in problems]}, status=status)


def _page(
    request: HttpRequest,
    form: WebForm | None,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    response = render(request, template, {"web_form": form, **context}, status=status)
    if form is not None:
        _frame_policy(response, form)
    return response


def _frame_policy(response: HttpResponse, form: WebForm) -> None:
    """The hosted form may be framed by the form's own sites, and its post may end in a
    redirect to the form's redirect page (CSP `form-action` covers redirects)."""
    if form.allowed_origins:
        response._csp_replace = {"frame-ancestors": ["'self'", *form.allowed_origins]}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True
    if form.redirect_url:
        target = normalize_origin(_origin_of(form.redirect_url))
        if target:
            response._csp_update = {"form-action": [target]}  # type: ignore[attr-defined]


def _origin_of(url: str) -> str:
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _message(
    request: HttpRequest,
    form: WebForm | None,
    status: int,
    problem: Problem,
    *,
    as_json: bool,
) -> HttpResponse:
    if as_json:
        return _error_json(status, [problem])
    return _page(
        request,
        form,
        "capture/public/message.html",
        {"title": _title(status), "message": problem.message},
        status=status,
    )


def _title(status: int) -> str:
    titles = {
        403: _("This form cannot be sent from here"),
        404: _("Form not found"),
        410: _("This form is closed"),
        413: _("Too much to send"),
        415: _("This form could not be read"),
        429: _("Please wait a moment"),
    }
    return titles.get(status, _("This form could not be sent"))


def _hosted(
    request: HttpRequest,
    form: WebForm,
    lead_form: PublicLeadForm,
    *,
    status: int = 200,
    notice: dict[str, str] | None = None,
) -> HttpResponse:
    return _page(
        request,
        form,
        "capture/public/form.html",
        {"form": lead_form, "honeypot": lead_form[HONEYPOT], "notice": notice},
        status=status,
    )


def _success(request: HttpRequest, form: WebForm, *, as_json: bool) -> HttpResponse:
    message = form.thank_you_message or _("Thank you! We will be in touch soon.")
    if as_json:
        return JsonResponse(
            {"ok": True, "message": message, "redirect_url": form.redirect_url or None}
        )
    if form.redirect_url:
        response = HttpResponse(status=303)
        response["Location"] = form.redirect_url
        return response
    return _page(request, form, "capture/public/thanks.html", {"message": message})


def _with_cors(response: HttpResponse, form: WebForm, origin: str) -> HttpResponse:
    patch_vary_headers(response, ["Origin"])
    if origin and origin in form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _preflight(request: HttpRequest, form: WebForm, origin: str) -> HttpResponse:
    """Allow a JSON post from the form's own sites; anyone else gets no CORS headers."""
    if not origin:
        response = HttpResponse(status=204)
        response["Allow"] = "GET, HEAD, POST, OPTIONS"
        return response
    method = request.headers.get("Access-Control-Request-Method", "POST").upper()
    if origin not in form.allowed_origins or method != "POST":
        return _with_cors(HttpResponse(status=403), form, "")
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return _with_cors(response, form, origin)


# --- reading a post --------------------------------------------------------------------------


def _read_body(request: HttpRequest) -> bytes:
    limit = max_body()
    too_large = Refusal(
        413,
        Problem(
            "too_large", None, _("The form sent more than %(limit)s bytes.") % {"limit": limit}
        ),
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body


def _posted_data(
    request: HttpRequest, form: WebForm
) -> tuple[QueryDict | dict[str, str], list[Problem]]:
    """The post's values by name, and problems with their types (JSON only)."""
    body = _read_body(request)
    if request.content_type == JSON:
        return _json_data(request, body, form)
    if request.content_type not in FORM_TYPES:
        raise Refusal(
            415,
            Problem(
                "unsupported_media_type",
                None,
                _("Send the form as a web form post or as JSON."),
            ),
        )
    try:
        return request.POST, []
    except (MultiPartParserError, SuspiciousOperation):
        raise Refusal(400, Problem("invalid", None, _("The form could not be read."))) from None


def _json_data(
    request: HttpRequest, body: bytes, form: WebForm
) -> tuple[dict[str, str], list[Problem]]:
    unreadable = Refusal(400, Problem("invalid", None, _("The body is not a JSON object.")))
    try:
        text = body.decode(request.encoding or "utf-8")
        check_depth(text, max_depth())
        parsed = json.loads(text)
    except (UnicodeDecodeError, LookupError, ValueError, ParseError, RecursionError):
        raise unreadable from None
    if not isinstance(parsed, dict):
        raise unreadable
    return json_form_data(parsed, [*form.fields, HONEYPOT])


def _throttled(request: HttpRequest, form: WebForm, ip_hash: str, origin: str) -> int | None:
    """Seconds to wait when a rate limit refuses this post; None when it may go on."""
    for scope, ident, setting in (
        ("ip", ip_hash, "CAPTURE_RATE_FORM_PER_IP"),
        ("form", form.key, "CAPTURE_RATE_FORM"),
    ):
        verdict = throttle.take(scope, ident, throttle.rate(setting))
        if verdict.allowed:
            continue
        if verdict.first_refusal:  # one row per window, not one per request of a flood
            form_submission_refused(
                form=form, outcome=SubmissionOutcome.THROTTLED, ip_hash=ip_hash, origin=origin
            )
        return verdict.retry_after
    return None


def wait_text(seconds: int) -> str:
    """How long to wait, as a visitor reads it: seconds under two minutes, else minutes
    (rounded up, so the visitor who waits that long is let in)."""
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = -(-seconds // 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def _throttled_answer(
    request: HttpRequest, form: WebForm, retry_after: int, *, as_json: bool
) -> HttpResponse:
    """A post the rate limit refuses. The hosted form comes back with what the visitor
    typed (read within the size limit, never taken in), so waiting costs them no retyping;
    when the body cannot be read, the plain message."""
    problem = Problem(
        "throttled",
        None,
        _("Too many posts from here; please try again in %(wait)s.")
        % {"wait": wait_text(retry_after)},
    )
    response: HttpResponse | None = None
    if not as_json:
        try:
            data, _type_problems = _posted_data(request, form)
        except Refusal:
            data = None
        if data is not None:
            lead_form = PublicLeadForm(data, web_form=form, hosted=True)
            notice = {"title": _title(429), "message": problem.message}
            response = _hosted(request, form, lead_form, status=429, notice=notice)
    if response is None:
        response = _message(request, form, 429, problem, as_json=as_json)
    response["Retry-After"] = str(retry_after)
    return response


def _post(request: HttpRequest, form: WebForm, origin: str, *, as_json: bool) -> HttpResponse:
    ip_hash = client_hash(request)
    retry_after = _throttled(request, form, ip_hash, origin)
    if retry_after is not None:
        return _throttled_answer(request, form, retry_after, as_json=as_json)
    if not origin_allowed(request, form, origin):
        form_submission_refused(
            form=form, outcome=SubmissionOutcome.FORBIDDEN_ORIGIN, ip_hash=ip_hash, origin=origin
        )
        problem = Problem(
            "origin_not_allowed", None, _("This form does not take posts from this web site.")
        )
        return _message(request, form, 403, problem, as_json=as_json)
    try:
        data, type_problems = _posted_data(request, form)
    except Refusal as refusal:
        form_submission_refused(
            form=form,
            outcome=SubmissionOutcome.INVALID,
            ip_hash=ip_hash,
            origin=origin,
            problems=[refusal.problem],
        )
        return _message(request, form, refusal.status, refusal.problem, as_json=as_json)
    lead_form = PublicLeadForm(data, web_form=form, hosted=True)
    if lead_form.is_spam():
        form_submission_refused(
            form=form, outcome=SubmissionOutcome.SPAM, ip_hash=ip_hash, origin=origin
        )
        return _success(request, form, as_json=as_json)
    put_on_form(lead_form, type_problems)
    if not lead_form.is_valid() or type_problems:
        problems = type_problems + [p for p in lead_form.problems() if p not in type_problems]
        rules = _rules_too(form, lead_form)
        put_on_form(lead_form, rules)
        problems += rules
        form_submission_refused(
            form=form,
            outcome=SubmissionOutcome.INVALID,
            ip_hash=ip_hash,
            origin=origin,
            problems=problems,
        )
        return _invalid(request, form, lead_form, problems, as_json=as_json)
    try:
        web_form_submit(form=form, data=lead_form.lead_data(), ip_hash=ip_hash, origin=origin)
    except ValidationFailed as error:
        problems = _in_the_forms_words(form, list(error.problems))
        put_on_form(lead_form, problems)
        return _invalid(request, form, lead_form, problems, as_json=as_json)
    return _success(request, form, as_json=as_json)


def _rules_too(form: WebForm, lead_form: PublicLeadForm) -> list[Problem]:
    """A post refused for its values' types (a bad e-mail address) also names what the
    intake rules would refuse in the rest (no company, no last name): every problem at
    once, not one round of errors after another, as the browser's new-lead form does. A
    field already in error is not named twice."""
    data = lead_values(form, lead_form.lead_data())
    # A bad e-mail address or phone number is already the way to reach them, named.
    reach_named = bool(set(lead_form.errors).intersection(REACH))
    problems = [
        p
        for p in intake_problems(data)
        if p.field not in lead_form.errors and not (reach_named and p.code == "contact_unreachable")
    ]
    return _in_the_forms_words(form, problems)


def _in_the_forms_words(form: WebForm, problems: list[Problem]) -> list[Problem]:
    """The intake asks for "an e-mail address or a phone number"; a form that shows no
    phone field asks its visitor for the e-mail address alone."""
    if "phone" in form.fields:
        return problems
    return [
        Problem(p.code, p.field, _("Enter an e-mail address."))
        if p.code == "contact_unreachable"
        else p
        for p in problems
    ]


def _invalid(
    request: HttpRequest,
    form: WebForm,
    lead_form: PublicLeadForm,
    problems: list[Problem],
    *,
    as_json: bool,
) -> HttpResponse:
    if as_json:
        return _error_json(400, problems)
    return _hosted(request, form, lead_form, status=400)


# --- the endpoint ----------------------------------------------------------------------------


@csrf_exempt
def web_form_endpoint(request: HttpRequest, key: str) -> HttpResponse:
    """/f/<key>/: the hosted form, a post to it, or a CORS preflight."""
    as_json = wants_json(request)
    form = WebForm.objects.filter(key=key).first()
    if form is None:
        problem = Problem("not_found", None, _("There is no form at this address."))
        return _message(request, None, 404, problem, as_json=as_json)
    origin = request.headers.get("Origin", "")
    if not form.is_active:
        problem = Problem("form_closed", None, _("This form no longer takes submissions."))
        response = _message(request, form, 410, problem, as_json=as_json)
    elif request.method == "OPTIONS":
        return _preflight(request, form, origin)
    elif request.method in ("GET", "HEAD"):
        response = _hosted(request, form, PublicLeadForm(web_form=form, hosted=True))
    elif request.method == "POST":
        response = _post(request, form, origin, as_json=as_json)
        patch_cache_control(response, no_store=True)
    else:
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD, POST, OPTIONS"
    return _with_cors(response, form, origin)
