"""The dates a CRM record can carry, one definition for every interface that reads one:
the API's date fields (`crm.api.serializers`), the report filters (`reports.forms`) and
the close month of the deal list and board (`opportunities.forms`).

Beyond them a value is a typo ("0001-01-01", "9999-12-31"), and near datetime's own limits
it cannot even be shown in a time zone or moved by a period's day arithmetic: refused as
a field error rather than a 500.
"""

from __future__ import annotations

import datetime

EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2999, 12, 31)


def is_recordable(day: datetime.date) -> bool:
    """Whether `day` lies between `EARLIEST` and `LATEST`."""
    return EARLIEST <= day <= LATEST
