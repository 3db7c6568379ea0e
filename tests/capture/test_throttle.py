"""The fixed-window counters behind capture's rate limits."""

from __future__ import annotations

import pytest

from capture.throttle import Rate, take


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("20/10min", Rate(20, 600)),
        ("300/min", Rate(300, 60)),
        ("5 / h", Rate(5, 3600)),
        ("1/s", Rate(1, 1)),
        ("1000/d", Rate(1000, 86400)),
    ],
)
def test_rates_read_as_written(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "20", "x/min", "20/fortnight", "-1/min"])
def test_a_rate_that_does_not_parse_says_so(text):
    with pytest.raises(ValueError, match="Not a rate"):
        Rate.parse(text)


def test_a_window_admits_its_count_then_refuses_until_it_ends():
    limit = Rate(2, 60)

    verdicts = [take("t", "who", limit, now=120.0 + i) for i in range(4)]
    next_window = take("t", "who", limit, now=180.0)

    assert [v.allowed for v in verdicts] == [True, True, False, False]
    assert [v.first_refusal for v in verdicts] == [False, False, True, False]
    assert verdicts[2].retry_after == 58
    assert next_window.allowed
    assert take("t", "someone-else", limit, now=121.0).allowed
