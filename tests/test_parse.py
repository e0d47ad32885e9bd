"""The bounded parsers of server.parse, and the JSON guard every request body goes through."""

from __future__ import annotations

import datetime as dt

import pytest

from server import parse


@pytest.mark.parametrize("text", ["²", "١٢", "𝟗", "Ⅻ", "½", "1e3", "0x10", "1_000", "7.5", "",
                                  " ", "-", "+", "1 2", "٣", "\x00", "9" * 21, None])
def test_parse_int_reads_ascii_digits_only(text):
    assert parse.parse_int(text, -(2**70), 2**70) is None


@pytest.mark.parametrize(("text", "number"), [("7", 7), (" 42 ", 42), ("+5", 5), ("-3", -3),
                                              ("1990.0", 1990), ("007", 7), (12, 12)])
def test_parse_int_reads_plain_numbers(text, number):
    assert parse.parse_int(text) == number


def test_db_id_is_a_positive_int4():
    assert parse.db_id("2147483647") == 2**31 - 1
    for text in ("2147483648", "9223372036854775808", "0", "-1", "١٢", True):
        assert parse.db_id(text) is None, text


def test_page_number_is_bounded():
    assert parse.page_number("3") == 3
    assert parse.page_number("9223372036854775808") == parse.MAX_PAGE
    for text in ("²", "0", "-4", "", None, "abc"):
        assert parse.page_number(text) == 1


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01",
                                  "10000-01-01", "2024-02-30", "٢٠٢٤-01-01", "2024-1-1x",
                                  "", None, "31/12/9999", "2024-01-01T00:00:00"])
def test_parse_date_refuses_the_ends_of_the_calendar(text):
    assert parse.parse_date(text, parse.DATE_FORMATS) is None


def test_parse_date_formats_and_bounds():
    assert parse.parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert parse.parse_date("01/02/2026") is None  # ISO only unless asked
    assert parse.parse_date("01/02/2026", parse.DATE_FORMATS) == dt.date(2026, 2, 1)
    assert parse.parse_date("2026-02-01", high=dt.date(2026, 1, 31)) is None
    assert parse.parse_date(dt.date(1, 1, 1)) is None


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59.999999Z",
                                  "2026-01-01T00:00:00+24:00", "yesterday", "", None,
                                  "٢٠٢٦-01-01T00:00:00Z", "2026-01-01T00:00:00" + "0" * 40])
def test_parse_datetime_refuses_the_ends_of_the_calendar(text):
    assert parse.parse_datetime(text) is None


def test_parse_datetime_is_aware_utc():
    assert parse.parse_datetime("2026-03-01T07:00:00+07:00") == \
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert parse.parse_datetime("2026-03-01T00:00:00") == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert parse.parse_datetime("2200-12-31T23:00:00-14:00") is not None


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b"[" * 100_000,
                                  b'{"a":' * 5000 + b"1" + b"}" * 5000,
                                  b"[" * 40 + b"]" * 40, b"{nope", b"x" * (5 * 1024 * 1024)])
def test_decode_json_raises_only_its_own_error(body):
    with pytest.raises(parse.JSONError):
        parse.decode_json(body)


def test_decode_json_reads_what_the_app_sends():
    batch = {"records": [{"id": "x", "data": {"support": ["a", "b"]}}]}
    assert parse.decode_json(b'{"records": [{"id": "x", "data": {"support": ["a", "b"]}}]}') \
        == batch


def test_json_guard_answers_400_translated_and_passes_the_rest(client):
    deep = b"[" * 5000 + b"]" * 5000
    r = client.post("/auth/passkey/login/verify", content=deep,
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"] == "Yêu cầu quá lớn hoặc lồng nhau quá sâu."
    assert r.headers["x-content-type-options"] == "nosniff"  # security headers still apply
    # Not JSON at all: the handler's own answer, the body reaches it untouched.
    r = client.post("/auth/passkey/login/verify", content=b"{nope",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"] != "Yêu cầu quá lớn hoặc lồng nhau quá sâu."


@pytest.mark.parametrize("params", [{"kind": "year", "year": "²"}, {"kind": "month", "month": "١٢"},
                                    {"kind": "custom", "start": "9999-12-25", "end": "9999-12-31"},
                                    {"kind": "custom", "start": "0001-01-01", "end": "0001-01-02"},
                                    {"kind": "year", "year": "99999999999999999999999"}])
def test_report_periods_refuse_odd_digits_and_the_ends_of_the_calendar(params):
    from server.reports.periods import parse_period

    period, errors = parse_period(params)
    assert period is None and errors
