"""The one error seeding raises on purpose."""


class DemoDataError(Exception):
    """Seeding would harm data that is not demo data; the message says what to do."""
