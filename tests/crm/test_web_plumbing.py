"""The plumbing every view shares: the keyset cursor, domain errors as pages, forms."""

from __future__ import annotations

import datetime
import decimal

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from crm.exceptions import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    Problem,
    StaleVersion,
    ValidationFailed,
)
from crm.web.errors import domain_error_response, set_back_url
from crm.web.forms import submit
from crm.web.pagination import decode_cursor, encode_cursor, keyset_page

UTC = datetime.UTC


def test_a_cursor_round_trips_every_kind_of_sort_key():
    key = (None, 7, "x", datetime.datetime(2026, 1, 2, 3, 4, tzinfo=UTC), datetime.date(2026, 5, 6))
    key += (decimal.Decimal("1.50"),)

    assert decode_cursor(encode_cursor(key), length=len(key)) == key


@pytest.mark.parametrize(
    "token",
    ["", "not base64 !", "W1sidCIsIjIwMjYtMDEtMDFUMDA6MDA6MDAiXV0", "e30", "WzEsMl0"],
    ids=["empty", "garbage", "naive-time", "object", "untagged"],
)
def test_a_cursor_not_made_here_reads_as_the_first_page(token):
    assert decode_cursor(token, length=1) is None


def test_a_cursor_of_the_wrong_length_reads_as_the_first_page():
    assert decode_cursor(encode_cursor([1, 2]), length=3) is None


@pytest.mark.django_db
def test_keyset_pages_walk_every_row_once_in_order(django_user_model):
    # given 7 users, ordered newest id first
    for n in range(7):
        django_user_model.objects.create(username=f"u{n}")
    everyone = list(django_user_model.objects.order_by("-id").values_list("id", flat=True))

    # when we walk pages of 3
    seen, cursor = [], None
    for _ in range(5):
        page = keyset_page(
            django_user_model.objects.order_by("-id"), fields=["-id"], cursor=cursor, size=3
        )
        seen.extend(u.id for u in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break

    # then
    assert seen == everyone


def _request(path="/leads/1/accept/", **headers):
    request = RequestFactory().post(path, **headers)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request.htmx = bool(headers.get("HTTP_HX_REQUEST"))
    return request


def test_a_refused_step_returns_to_the_page_the_view_named_with_a_message():
    request = _request()
    set_back_url(request, "/leads/1/")

    response = domain_error_response(request, InvalidTransition(current="sql", target="sal"))

    assert response.status_code == 302 and response["Location"] == "/leads/1/"
    assert [m.level_tag for m in get_messages(request)] == ["error"]


def test_a_stale_edit_warns_and_an_htmx_request_is_redirected_by_header():
    request = _request(HTTP_HX_REQUEST="true", HTTP_REFERER="http://testserver/leads/9/")

    response = domain_error_response(request, StaleVersion("stale"))

    assert response["HX-Redirect"] == "http://testserver/leads/9/"
    assert [m.level_tag for m in get_messages(request)] == ["warning"]


def test_a_foreign_referer_is_not_followed():
    request = _request(HTTP_REFERER="https://evil.example/")

    response = domain_error_response(request, ValidationFailed("no"))

    assert response["Location"] == "/"


@pytest.mark.django_db
@pytest.mark.parametrize(("error", "status"), [(NotAllowed("no"), 403), (NotFound("gone"), 404)])
def test_permission_and_absence_are_pages_not_redirects(error, status):
    assert domain_error_response(_request(), error).status_code == status


class _NameForm(forms.Form):
    name = forms.CharField()


def test_submit_puts_field_problems_on_the_form_and_lets_the_rest_rise():
    form = _NameForm({"name": "x"})
    assert form.is_valid()

    def refuse():
        raise ValidationFailed(problems=[Problem("placeholder", "name", "Say what it is.")])

    assert submit(form, refuse) is None
    assert form.errors == {"name": ["Say what it is."]}
    with pytest.raises(NotAllowed):
        submit(form, lambda: (_ for _ in ()).throw(NotAllowed("no")))
    assert submit(form, lambda: 42) == 42


@pytest.mark.django_db
def test_api_pages_go_forward_and_back_over_the_same_rows(django_user_model):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from crm.api.pagination import KeysetPagination

    class ById(KeysetPagination):
        ordering = ("-id",)
        page_size = 2

    for n in range(5):
        django_user_model.objects.create(username=f"p{n}")
    ids = list(django_user_model.objects.order_by("-id").values_list("id", flat=True))

    def page(url):
        paginator = ById()
        rows = paginator.paginate_queryset(
            django_user_model.objects.all(), Request(APIRequestFactory().get(url))
        )
        return [u.id for u in rows], paginator.get_next_link(), paginator.get_previous_link()

    first, next_url, previous_url = page("/api/v1/users/")
    second, third_url, back_url = page(next_url)
    back, _n, before_first = page(back_url)

    assert first == ids[:2] and previous_url is None
    assert second == ids[2:4] and third_url
    assert back == first and before_first is None
    assert page(third_url)[0] == ids[4:] and page(third_url)[1] is None
