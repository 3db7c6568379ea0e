"""Sign-in protection: django-axes locks one account from one address after the policy's
number of failures, on the sign-in page and the token endpoint alike; RevOps sets the
policy and unlocks, managers read, reps never see it; a forged X-Forwarded-For neither
dodges the lockout nor the token throttle."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import User
from crm.security.models import LockoutRelease, LoginPolicy, LoginPolicyChange
from tests.factories import UserFactory

PASSWORD = "pw-for-tests-1"
LOCKED = "Too many failed sign-ins for this account from your address"
ADDRESS = "10.0.0.1"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()  # throttle counters live in the cache, which tests share


@pytest.fixture
def alice(db) -> User:
    return UserFactory(ae=True, username="alice")


def sign_in(client: Client, username: str, password: str, **meta: str):
    meta.setdefault("REMOTE_ADDR", ADDRESS)
    return client.post("/login/", {"username": username, "password": password}, **meta)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(client: Client, username: str, times: int, **meta: str) -> list[int]:
    return [sign_in(client, username, "wrong", **meta).status_code for _ in range(times)]


# --- the sign-in page -------------------------------------------------------------------


def test_ten_failures_lock_the_account_and_the_right_password_is_then_refused(client, alice):
    # given nine wrong passwords: still the ordinary "wrong password" page
    assert fail(client, "alice", 9) == [200] * 9
    # when the tenth fails
    tenth = sign_in(client, "alice", "wrong")
    # then the account is locked from this address, with a clear message
    assert tenth.status_code == 429
    assert LOCKED in tenth.content.decode()
    assert "Try again in 15 minutes or ask RevOps to unlock it." in tenth.content.decode()
    assert tenth["Retry-After"] == str(15 * 60)
    eleventh = sign_in(client, "alice", PASSWORD)
    assert eleventh.status_code == 429
    assert LOCKED in eleventh.content.decode()
    assert not is_signed_in(client)


def test_a_lockout_holds_one_account_from_one_address_only(client, alice):
    UserFactory(sdr=True, username="bob")
    fail(client, "alice", 10)

    assert sign_in(Client(), "bob", PASSWORD).status_code == 302  # other account, same address
    other_address = Client()
    assert sign_in(other_address, "alice", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert is_signed_in(other_address)


def test_a_rotating_forwarded_for_header_does_not_dodge_the_lockout(client, alice):
    for n in range(10):
        sign_in(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response = sign_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert response.status_code == 429
    assert not is_signed_in(client)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS}


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(client, alice, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "172.16.0.2"}
    fail(client, "alice", 10, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)

    locked = sign_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    elsewhere = sign_in(Client(), "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


def test_every_failure_is_logged_and_the_refused_ones_are_flagged(client, alice):
    fail(client, "alice", 11)

    logs = list(AccessFailureLog.objects.order_by("attempt_time", "id"))
    assert len(logs) == 11
    assert [log.locked_out for log in logs] == [False] * 9 + [True, True]
    assert {(log.username, log.ip_address) for log in logs} == {("alice", ADDRESS)}


def test_a_successful_sign_in_forgets_earlier_failures(client, alice):
    fail(client, "alice", 9)
    assert sign_in(client, "alice", PASSWORD).status_code == 302

    assert fail(Client(), "alice", 9) == [200] * 9  # counting starts again


def test_the_policy_is_read_once_per_attempt(client, alice):
    with CaptureQueriesContext(connection) as queries:
        sign_in(client, "alice", "wrong")

    policy_reads = [q for q in queries.captured_queries if "crm_loginpolicy" in q["sql"]]
    assert len(policy_reads) == 1


# --- the token endpoint -----------------------------------------------------------------


def token(client: APIClient, username: str, password: str, **meta: str):
    meta.setdefault("REMOTE_ADDR", ADDRESS)
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", **meta
    )


def test_the_token_endpoint_locks_out_with_a_json_error(alice):
    api = APIClient()
    assert [token(api, "alice", "wrong").status_code for _ in range(9)] == [400] * 9

    tenth = token(api, "alice", "wrong")
    eleventh = token(api, "alice", PASSWORD)

    for response in (tenth, eleventh):
        assert response.status_code == 429
        assert response["Content-Type"] == "application/json"
        [error] = response.json()["errors"]
        assert error["code"] == "locked_out"
        assert LOCKED in error["message"]
        assert int(response["Retry-After"]) == 15 * 60
    assert "token" not in eleventh.json()
    # the sign-in page shares the lockout: same account, same address
    assert sign_in(Client(), "alice", PASSWORD).status_code == 429


def test_the_token_endpoint_still_answers_with_a_token(alice):
    response = token(APIClient(), "alice", PASSWORD)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert len(response.json()["token"]) == 40


def test_the_token_endpoint_is_throttled_per_address_whatever_x_forwarded_for_says(db):
    api = APIClient()
    # different usernames: no account reaches its lockout, only the address its limit
    answers = [
        token(api, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(21)
    ]

    assert answers == [400] * 20 + [429]
    [error] = token(api, "guess99", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1").json()["errors"]
    assert error["code"] == "throttled"
    assert token(APIClient(), "guess0", "wrong", REMOTE_ADDR="10.0.0.9").status_code == 400


# --- the RevOps page --------------------------------------------------------------------

PAGE = "/settings/sign-in-protection/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_revops_sees_the_policy_form_and_who_is_locked_out(alice, revops):
    fail(Client(), "alice", 10)

    response = signed_in(revops).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="login-policy-form"' in page
    assert 'data-testid="lockout-row"' in page and "alice" in page and ADDRESS in page
    assert "Unlock" in page


def test_managers_read_the_page_without_form_or_unlock(alice, manager):
    fail(Client(), "alice", 10)

    response = signed_in(manager).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="read-only"' in page
    assert 'data-testid="login-policy-form"' not in page
    assert 'action="/settings/sign-in-protection/unlock/"' not in page


@pytest.mark.parametrize("role", ["sdr", "ae"])
def test_reps_cannot_see_the_page(db, role):
    rep = UserFactory(**{role: True})

    assert signed_in(rep).get(PAGE).status_code == 403
    assert signed_in(rep).post(f"{PAGE}policy/", {"failure_limit": 5}).status_code == 403


def test_the_settings_hub_lists_the_page_for_managers_and_revops(manager, revops, sdr):
    for user in (manager, revops):
        assert PAGE in signed_in(user).get("/settings/").content.decode()
    assert signed_in(sdr).get("/settings/").status_code == 403


def test_revops_unlocks_and_the_account_signs_in_again(client, alice, revops):
    fail(client, "alice", 10)

    response = signed_in(revops).post(
        f"{PAGE}unlock/", {"username": "alice", "ip_address": ADDRESS}, follow=True
    )

    assert "Unlocked alice from 10.0.0.1" in response.content.decode()
    release = LockoutRelease.objects.get()
    assert (release.actor, release.username, release.ip_address) == (revops, "alice", ADDRESS)
    assert release.failures == 10
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_unlocking_what_is_not_locked_says_so(alice, revops):
    fail(Client(), "alice", 3)

    response = signed_in(revops).post(
        f"{PAGE}unlock/", {"username": "alice", "ip_address": ADDRESS}, follow=True
    )

    assert response.status_code == 200
    assert "is not locked out from 10.0.0.1 any more" in response.content.decode()
    assert not LockoutRelease.objects.exists()
    assert AccessAttempt.objects.filter(username="alice").exists()


def test_managers_cannot_unlock(alice, manager):
    fail(Client(), "alice", 10)

    response = signed_in(manager).post(
        f"{PAGE}unlock/", {"username": "alice", "ip_address": ADDRESS}
    )

    assert response.status_code == 403
    assert sign_in(Client(), "alice", PASSWORD).status_code == 429


def test_revops_sets_the_policy_and_it_applies_from_the_next_attempt(client, alice, revops):
    response = signed_in(revops).post(
        f"{PAGE}policy/", {"failure_limit": 5, "window_minutes": 30}, follow=True
    )

    assert "Saved: 5 failed sign-ins within 30 minutes" in response.content.decode()
    change = LoginPolicyChange.objects.get()
    assert change.actor == revops
    assert change.old == {"failure_limit": 10, "window_minutes": 15}
    assert change.new == {"failure_limit": 5, "window_minutes": 30}
    assert fail(client, "alice", 5) == [200] * 4 + [429]
    assert "Try again in 30 minutes" in sign_in(client, "alice", PASSWORD).content.decode()


def test_saving_the_same_numbers_records_nothing(revops):
    response = signed_in(revops).post(
        f"{PAGE}policy/", {"failure_limit": 10, "window_minutes": 15}, follow=True
    )

    assert "Nothing changed" in response.content.decode()
    assert not LoginPolicyChange.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"failure_limit": 2, "window_minutes": 15}, "failure_limit", "between 3 and 100"),
        ({"failure_limit": 40, "window_minutes": 15}, "failure_limit", "at most 25"),
        ({"failure_limit": 10, "window_minutes": 2000}, "window_minutes", "a day"),
        ({"failure_limit": "ten", "window_minutes": 15}, "failure_limit", "Enter a whole number"),
    ],
)
def test_a_bad_policy_is_refused_on_its_field(revops, data, field, message):
    response = signed_in(revops).post(f"{PAGE}policy/", data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert LoginPolicy.objects.filter(pk=1).first() is None


def test_managers_cannot_change_the_policy(manager):
    response = signed_in(manager).post(f"{PAGE}policy/", {"failure_limit": 5, "window_minutes": 15})

    assert response.status_code == 403
    assert not LoginPolicyChange.objects.exists()
