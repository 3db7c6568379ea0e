"""The public end of a web form, /f/<key>/: a visitor posts (form-encoded or JSON) and a
routed lead appears, through the same intake as every channel; bad posts get their field
errors, never a 500; the abuse defences (honeypot, rate limits, size, origins) hold; and
every post is counted for RevOps."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from capture.fields import HONEYPOT
from capture.models import FormSubmission, WebForm
from leads.models import Lead, LeadEvent
from tests.capture.conftest import LEAD
from tests.factories import LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(form: WebForm) -> str:
    return f"/f/{form.key}/"


def post_json(client: Client, form: WebForm, body: object, **headers: str):
    return client.post(
        url(form), data=json.dumps(body), content_type="application/json", headers=headers
    )


def outcomes(form: WebForm) -> list[str]:
    return list(form.submissions.order_by("id").values_list("outcome", flat=True))


# --- the hosted form ---------------------------------------------------------------------------


def test_the_hosted_form_shows_the_fields_in_order_and_a_hidden_honeypot(client, web_form):
    page = client.get(url(web_form))

    assert page.status_code == 200
    html = page.content.decode()
    positions = [html.index(f'name="{name}"') for name in web_form.fields]
    assert positions == sorted(positions)
    assert f'name="{HONEYPOT}"' in html and 'class="hp-field"' in html
    assert 'name="phone"' not in html  # not one of this form's fields
    assert "csrftoken" not in page.cookies  # a public page sets no cookie


def test_an_unknown_key_is_404_and_an_inactive_form_410(client, web_form, revops):
    assert client.get("/f/no-such-form/").status_code == 404
    assert post_json(client, web_form, LEAD).status_code == 200
    WebForm.objects.filter(pk=web_form.pk).update(is_active=False)

    assert client.get(url(web_form)).status_code == 410
    closed = post_json(client, web_form, LEAD | {"email": "other@acme.example"})
    assert closed.status_code == 410
    assert closed.json()["errors"][0]["code"] == "form_closed"
    assert Lead.objects.count() == 1


# --- posting -----------------------------------------------------------------------------------


def test_a_form_post_makes_a_routed_lead_and_shows_the_thank_you_page(client, web_form):
    sdr = UserFactory(sdr=True, username="dewi")

    page = client.post(url(web_form), LEAD | {"country": "Indonesia"})

    assert page.status_code == 200
    assert "An expert will call you within a day." in page.content.decode()
    lead = Lead.objects.get()
    assert (lead.company_name, lead.last_name, lead.email) == (
        "Acme Logistics",
        "Pérez",
        "ana@acme.example",
    )
    assert (lead.source, lead.campaign, lead.country) == ("inbound", "Website demo", "ID")
    assert lead.status == Lead.Status.MQL
    assert lead.owner == sdr  # routed at once
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.lead) == ("created", lead)
    assert submission.ip_hash and "127.0.0.1" not in submission.ip_hash
    assert LeadEvent.objects.get(lead=lead, kind="created").note == "web_form"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("USA", "US"), ("Deutschland", "DE"), ("Jerman", "DE"), ("cote d'ivoire", "CI"), ("", "")],
)
def test_a_country_is_read_as_people_write_it(client, web_form, typed, code):
    """A pasted snippet's country as a visitor types it: a code, a name in any of our
    languages, an alias or endonym, with or without accents."""
    page = client.post(url(web_form), LEAD | {"country": typed})
    assert page.status_code == 200, page.content.decode()[:500]
    assert Lead.objects.get().country == code


def test_an_unknown_country_is_named_in_its_error(client, web_form):
    page = client.post(url(web_form), LEAD | {"country": "Narnia"})
    assert page.status_code == 400
    assert "“Narnia” is not a country we know" in page.content.decode()
    assert not Lead.objects.exists()


def test_the_snippet_offers_the_countries_as_a_list(web_form):
    from capture.snippet import fetch_snippet, html_snippet

    for snippet in (html_snippet, fetch_snippet):
        html = snippet(web_form, action="https://crm.example/f/x/")
        assert '<select id="thr-country" name="country"' in html
        assert '<option value="DE">Germany</option>' in html
        assert 'name="country" type="text"' not in html


def test_with_no_sdr_the_lead_waits_in_the_unassigned_queue(client, web_form):
    post_json(client, web_form, LEAD)

    lead = Lead.objects.get()
    assert lead.owner is None
    assert Lead.objects.unassigned().filter(pk=lead.pk).exists()


def test_a_form_post_follows_the_routing_rules(client, make_form, revops):
    from leads.services.settings import routing_rule_create

    events = TeamFactory(name="Events")
    UserFactory(sdr=True, username="other-sdr")
    ayu = UserFactory(sdr=True, username="ayu", team=events)
    routing_rule_create(
        by=revops, data={"name": "Webinars", "team": events, "match_campaign": "Webinar Q3"}
    )
    webinar = make_form(name="Webinar", source="event", campaign="Webinar Q3")

    post_json(client, webinar, LEAD)

    assert Lead.objects.get().owner == ayu


def test_a_url_encoded_post_is_read_like_a_multipart_one(client, web_form):
    body = urlencode(LEAD | {"job_title": "Head of Ops & Finance"})

    page = client.post(url(web_form), body, content_type="application/x-www-form-urlencoded")

    assert page.status_code == 200
    assert Lead.objects.get().job_title == "Head of Ops & Finance"


def test_a_json_post_is_answered_in_json(client, web_form):
    response = post_json(client, web_form, LEAD | {"employee_count": None})

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "message": "Thanks! An expert will call you within a day.",
        "redirect_url": None,
    }
    assert Lead.objects.get().email == "ana@acme.example"


def test_a_form_with_a_redirect_sends_the_visitor_there(client, make_form):
    form = make_form(redirect_url="https://www.example.com/thanks")

    response = client.post(url(form), LEAD)

    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thanks"
    assert post_json(client, form, LEAD | {"email": "b@acme.example"}).json()["redirect_url"] == (
        "https://www.example.com/thanks"
    )


def test_the_same_person_twice_is_one_lead_with_a_touch(client, web_form):
    first = post_json(client, web_form, LEAD)
    second = post_json(client, web_form, LEAD | {"email": "ANA@acme.example ", "job_title": "COO"})

    assert first.json() == second.json()  # the visitor is not told they were a lead already
    lead = Lead.objects.get()
    assert outcomes(web_form) == ["created", "deduplicated"]
    assert FormSubmission.objects.filter(outcome="deduplicated").get().lead == lead
    touch = LeadEvent.objects.get(lead=lead, kind="touch")
    assert touch.changes["form"] == [None, web_form.name]
    assert touch.changes["channel"] == [None, "web_form"]
    assert touch.changes["job_title"] == ["Head of Ops", "COO"]
    assert lead.job_title == "Head of Ops"  # the lead itself is untouched


def test_a_person_with_an_open_lead_from_elsewhere_is_deduplicated(client, web_form):
    existing = LeadFactory(email="ana@acme.example")

    post_json(client, web_form, LEAD)

    assert Lead.objects.count() == 1
    assert FormSubmission.objects.get().lead == existing


def test_extra_inputs_are_ignored_like_a_plain_form_does(client, web_form):
    response = client.post(url(web_form), LEAD | {"submit": "Send", "utm_source": "x"})

    assert response.status_code == 200
    assert Lead.objects.count() == 1


# --- field errors ------------------------------------------------------------------------------


def test_missing_fields_re_render_the_hosted_form_with_errors(client, web_form):
    page = client.post(url(web_form), {"first_name": "Ana", "email": "not-an-email"})

    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-testid="public-form"' in html
    assert "Enter a valid e-mail address." in html  # the product's spelling, not Django's
    assert 'value="Ana"' in html  # what the visitor typed is kept
    assert not Lead.objects.exists()
    assert outcomes(web_form) == ["invalid"]
    # the bad e-mail and what the intake rules miss, all at once
    problems = {p["field"] for p in FormSubmission.objects.get().problems}
    assert problems == {"email", "last_name", "company_name"}


def test_intake_rules_name_every_missing_field_in_json(client, web_form):
    response = post_json(client, web_form, {"first_name": "Ana"})

    assert response.status_code == 400
    errors = {(e["code"], e["field"]) for e in response.json()["errors"]}
    assert errors == {
        ("required", "company_name"),
        ("required", "last_name"),
        ("contact_unreachable", "email"),
    }
    assert outcomes(web_form) == ["invalid"]
    # The form shows no phone field: the visitor is asked for what it does show.
    reach = next(e for e in response.json()["errors"] if e["code"] == "contact_unreachable")
    assert reach["message"] == "Enter an e-mail address."


def test_a_form_with_a_phone_field_asks_for_either(client, make_form):
    form = make_form(fields=["first_name", "last_name", "email", "phone", "company_name"])

    response = post_json(client, form, {"first_name": "Ana", "last_name": "P", "company_name": "C"})

    assert response.json()["errors"] == [
        {
            "code": "contact_unreachable",
            "field": "email",
            "message": "Enter an e-mail address or a phone number.",
        }
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"company_name": "x" * 201}, "company_name", "max_length"),
        ({"company_name": {"a": 1}}, "company_name", "invalid"),
        ({"last_name": ["a"]}, "last_name", "invalid"),
        ({"email": True}, "email", "invalid"),
        ({"country": "Atlantis"}, "country", "invalid"),
    ],
)
def test_bad_values_are_field_errors_never_a_500(client, web_form, body, field, code):
    response = post_json(client, web_form, LEAD | body)

    assert response.status_code == 400
    assert (code, field) in {(e["code"], e["field"]) for e in response.json()["errors"]}
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("phone", "accepted"),
    [
        ("+62 812 3456 7890", True),
        ("(021) 555-0101", True),
        ("+1 415.555.0101 ext. 12", True),
        ("call me maybe", False),
        ("123", False),
        ("+62 812 3456 7890 1234 5678", False),
    ],
)
def test_a_phone_is_a_number_as_people_write_one(client, make_form, phone, accepted):
    form = make_form(fields=["last_name", "email", "company_name", "phone"])

    response = post_json(client, form, LEAD | {"phone": phone})

    assert (response.status_code == 200) == accepted, response.content[:300]
    if not accepted:
        assert [e["field"] for e in response.json()["errors"]] == ["phone"]
    assert Lead.objects.filter(phone=phone).exists() == accepted


def test_a_huge_employee_count_is_a_field_error(client, make_form):
    form = make_form(fields=["last_name", "email", "company_name", "employee_count"])

    response = post_json(client, form, LEAD | {"employee_count": 10**12})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "employee_count"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"[" * 5000, "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"hello", "text/plain", 415),
        (b"a=1&" * 1500, "application/x-www-form-urlencoded", 400),  # > 1,000 fields
        (b"--x\r\nnonsense", "multipart/form-data; boundary=x", 400),
    ],
)
def test_unreadable_bodies_are_refused_cleanly(client, web_form, body, content_type, status):
    response = client.generic("POST", url(web_form), body, content_type=content_type)

    assert response.status_code == status
    assert outcomes(web_form) == ["invalid"]


def test_a_body_over_the_limit_is_413(client, web_form, settings):
    settings.CAPTURE_FORM_MAX_BODY = 2048

    response = post_json(client, web_form, LEAD | {"job_title": "x" * 4000})
    page = client.post(url(web_form), LEAD | {"job_title": "x" * 4000})

    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "too_large"
    assert page.status_code == 413 and "Too much to send" in page.content.decode()
    assert not Lead.objects.exists()


# --- spam and abuse ----------------------------------------------------------------------------


def test_a_filled_honeypot_is_answered_like_success_and_dropped(client, web_form):
    page = client.post(url(web_form), LEAD | {HONEYPOT: "http://spam.example"})
    answer = post_json(client, web_form, LEAD | {HONEYPOT: "buy now"})

    assert page.status_code == 200 and "within a day" in page.content.decode()
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert not Lead.objects.exists()
    assert outcomes(web_form) == ["spam", "spam"]


def test_one_address_is_rate_limited_across_forms(client, make_form, settings):
    settings.CAPTURE_RATE_FORM_PER_IP = "3/min"
    first, second = make_form(), make_form()

    answers = [
        post_json(client, form, LEAD | {"email": f"p{i}@acme.example"})
        for i, form in enumerate([first, second, first, second, first])
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3]["Retry-After"].isdigit()
    assert answers[3].json()["errors"][0]["code"] == "throttled"
    assert Lead.objects.count() == 3
    # one row per window for the refusals, not one per refused request
    assert FormSubmission.objects.filter(outcome="throttled").count() == 1
    other_client = Client(REMOTE_ADDR="10.1.2.3")
    assert post_json(other_client, first, LEAD | {"email": "z@acme.example"}).status_code == 200


def test_a_form_is_rate_limited_for_everyone(make_form, settings):
    settings.CAPTURE_RATE_FORM = "2/min"
    form = make_form()

    codes = [
        post_json(Client(REMOTE_ADDR=f"10.0.0.{i}"), form, LEAD | {"email": f"{i}@a.example"})
        for i in range(3)
    ]

    assert [c.status_code for c in codes] == [200, 200, 429]
    page = Client(REMOTE_ADDR="10.0.0.9").post(url(form), LEAD)
    assert page.status_code == 429 and "Please wait a moment" in page.content.decode()


def test_a_forged_forwarded_for_does_not_dodge_the_limit(client, web_form, settings):
    settings.CAPTURE_RATE_FORM_PER_IP = "1/min"
    post_json(client, web_form, LEAD)

    forged = post_json(client, web_form, LEAD, X_FORWARDED_FOR="203.0.113.7")

    assert forged.status_code == 429  # NUM_PROXIES is 0: the header is not believed


def test_the_rate_limit_fails_open_when_the_cache_is_down(client, web_form, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "crm.cache_guard.FailOpenRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.CAPTURE_RATE_FORM_PER_IP = "1/min"

    codes = [
        post_json(client, web_form, LEAD | {"email": f"{i}@acme.example"}).status_code
        for i in range(3)
    ]

    assert codes == [200, 200, 200]
    assert Lead.objects.count() == 3


# --- origins and CORS --------------------------------------------------------------------------


@pytest.fixture
def site_form(make_form) -> WebForm:
    return make_form(allowed_origins=["https://www.acme.example"])


def test_a_preflight_from_an_allowed_site_is_answered(client, site_form):
    response = client.options(
        url(site_form),
        headers={
            "Origin": "https://www.acme.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.acme.example"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    assert "Origin" in response["Vary"]


def test_a_preflight_from_another_site_gets_no_cors_headers(client, site_form):
    response = client.options(
        url(site_form),
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_a_post_from_an_allowed_site_carries_the_cors_header(client, site_form):
    response = post_json(client, site_form, LEAD, Origin="https://www.acme.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://www.acme.example"


def test_a_post_from_another_site_is_refused_and_counted(client, site_form):
    response = post_json(client, site_form, LEAD, Origin="https://evil.example")
    page = client.post(url(site_form), LEAD, headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert page.status_code == 403
    assert not Lead.objects.exists()
    assert outcomes(site_form) == ["forbidden_origin", "forbidden_origin"]


def test_the_hosted_form_and_servers_may_always_post(client, site_form):
    hosted = client.post(url(site_form), LEAD, headers={"Origin": "http://testserver"})
    server = post_json(client, site_form, LEAD | {"email": "srv@acme.example"})

    assert hosted.status_code == 200 and server.status_code == 200
    assert "Access-Control-Allow-Origin" not in server


def test_without_allowed_sites_any_site_posts_a_plain_form_but_gets_no_cors(client, web_form):
    response = client.post(url(web_form), LEAD, headers={"Origin": "https://any.example"})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert Lead.objects.count() == 1


def test_allowed_sites_may_frame_the_hosted_form(client, site_form, web_form):
    framed = client.get(url(site_form))
    closed = client.get(url(web_form))

    assert "frame-ancestors 'self' https://www.acme.example" in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed
    assert "frame-ancestors 'none'" in closed["Content-Security-Policy"]
    assert closed["X-Frame-Options"] == "DENY"


def test_a_redirecting_form_lets_its_hosted_page_post_there(client, make_form):
    form = make_form(redirect_url="https://www.acme.example/thanks?from=form")

    csp = client.get(url(form))["Content-Security-Policy"]

    assert "form-action 'self' https://www.acme.example" in csp
