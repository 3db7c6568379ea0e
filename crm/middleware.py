"""Show instants in the signed-in user's own time zone (they are stored in UTC), and
pages in the language they chose (blank: the one `LocaleMiddleware` took from the
browser). It runs after authentication, which `LocaleMiddleware` runs before; an API
client signed in by token is known only inside the view (`crm.api.language`)."""

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        zone = getattr(user, "time_zone", "") if signed_in else ""
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        language = getattr(user, "language", "") if signed_in else ""
        if not language:
            # A token client's language is switched inside the view, once DRF knows the
            # user (crm.api.language); restored here, after the response is rendered.
            with translation.override(translation.get_language()):
                response = self.get_response(request)
                response.headers.setdefault("Content-Language", translation.get_language())
            return response
        # Restored afterwards: a thread's next request, task or test starts from the default.
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
