"""API clients signed in by token get answers in their user's language when they name
none; an explicit `Accept-Language` wins (crm.api.language). Session users keep theirs."""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from crm.api.language import TokenAuthentication
from crm.models import User

pytestmark = pytest.mark.django_db

MISSING = "/api/v1/leads/987654/"


def token_client(user: User, **headers: str) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}", **headers
    )
    return client


def message_of(response) -> str:
    assert response.status_code == 404, response.content
    return response.json()["errors"][0]["message"]


def set_language(user: User, language: str) -> User:
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    return user


def test_the_api_authenticates_tokens_with_the_language_aware_class():
    assert TokenAuthentication in api_settings.DEFAULT_AUTHENTICATION_CLASSES


def test_a_token_client_naming_no_language_reads_its_users_choice(sdr):
    response = token_client(set_language(sdr, "id")).get(MISSING)

    assert message_of(response) == "Lead tidak ditemukan."
    assert response["Content-Language"] == "id"


def test_an_explicit_accept_language_wins_over_the_users_choice(sdr):
    response = token_client(set_language(sdr, "id"), HTTP_ACCEPT_LANGUAGE="en").get(MISSING)

    assert message_of(response) == "No such lead."
    assert response["Content-Language"] == "en"


def test_an_english_user_asking_for_indonesian_gets_indonesian(sdr):
    response = token_client(set_language(sdr, "en"), HTTP_ACCEPT_LANGUAGE="id").get(MISSING)

    assert message_of(response) == "Lead tidak ditemukan."


def test_a_user_who_chose_no_language_gets_the_sites_default(sdr):
    response = token_client(set_language(sdr, "")).get(MISSING)

    assert message_of(response) == "No such lead."


def test_validation_messages_follow_the_users_language_too(sdr):
    body = {"theme": "purple"}
    chosen = token_client(set_language(sdr, "id")).patch("/api/v1/me/", body, format="json")
    asked = token_client(sdr, HTTP_ACCEPT_LANGUAGE="id").patch("/api/v1/me/", body, format="json")
    english = token_client(sdr, HTTP_ACCEPT_LANGUAGE="en").patch("/api/v1/me/", body, format="json")

    assert chosen.status_code == asked.status_code == english.status_code == 400
    assert chosen.json() == asked.json() != english.json()


def test_the_language_does_not_outlive_the_request(sdr):
    translation.activate("en")
    token_client(set_language(sdr, "id")).get(MISSING)

    assert translation.get_language() == "en"


def test_a_session_user_keeps_their_choice_over_the_browsers(sdr):
    client = APIClient()
    client.force_login(set_language(sdr, "id"))

    assert message_of(client.get(MISSING, HTTP_ACCEPT_LANGUAGE="en")) == "Lead tidak ditemukan."
