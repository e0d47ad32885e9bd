"""Notifications: a volunteer's returned and rejected entries, an official's overdue queue, the
count in the header, and the home page blocks."""

from __future__ import annotations

import datetime as dt

from server.areas.tables import Area
from server.records.tables import Entry
from server.review import queries
from server.web import CurrentUser
from tests.conftest import run
from tests.factories import make_entry

NOW = dt.datetime.now(dt.UTC)


def me(world, key: str, role: str = "volunteer") -> CurrentUser:
    area, level = {"eve": (world["province"], "province")}.get(
        key, (world["A"] if key in ("alice", "bob", "carol") else world["B"], "commune"))
    return CurrentUser(id=world[key], role=role, name=key, area_id=area, area_name="",
                       area_level=level)


def entry(world, author: str = "bob", commune: str = "A", **kw):
    return run(make_entry("visit", commune=world[commune], author=world[author], **kw))


def count(user: CurrentUser) -> int:
    return run(queries.notification_count(user))


def test_volunteer_count_is_returned_and_recently_rejected(world):
    official = me(world, "alice", "official")
    back = entry(world)
    run(queries.return_entry(official, back, 1, "Bổ sung tình hình sức khỏe."))
    gone = entry(world)
    run(queries.reject_entry(official, gone, 1, "Trùng lặp."))
    entry(world, state="rejected", reviewed_at=NOW - dt.timedelta(days=30),
          review_comment="Cũ")
    entry(world)  # submitted
    entry(world, state="approved")
    entry(world, author="carol", state="returned", review_comment="Của người khác")
    assert count(me(world, "bob")) == 2
    assert count(me(world, "carol")) == 1
    assert count(me(world, "erin")) == 0
    run(queries.approve_entry(official, entry(world), 1))
    assert count(me(world, "bob")) == 2


def test_official_count_uses_the_commune_overdue_setting(world):
    entry(world, received_at=NOW - dt.timedelta(days=5))
    entry(world, received_at=NOW - dt.timedelta(days=4))
    entry(world, received_at=NOW - dt.timedelta(days=1))
    entry(world, state="returned", received_at=NOW - dt.timedelta(days=9))
    entry(world, author="erin", commune="B", received_at=NOW - dt.timedelta(days=9))
    alice = me(world, "alice", "official")
    assert count(alice) == 2  # default: 3 days
    run(Area.update({Area.review_overdue_days: 7}).where(Area.id == world["A"]))
    assert count(alice) == 0
    run(Area.update({Area.review_overdue_days: 0}).where(Area.id == world["A"]))
    assert count(alice) == 3
    assert count(me(world, "dave", "official")) == 1
    assert count(me(world, "eve", "supervisor")) == 0


def test_count_fragment_and_page(world, as_user, client):
    eid = entry(world)
    run(queries.return_entry(me(world, "alice", "official"), eid, 1, "Ghi thiếu ngày hẹn."))
    bob = as_user(world["bob"])
    r = bob.get("/notifications/count", headers={"hx-request": "true"})
    assert r.status_code == 200
    assert 'id="notification-badge"' in r.text and ">1</a>" in r.text
    assert "<html" not in r.text
    page = bob.get("/notifications")
    assert page.status_code == 200 and "Ghi thiếu ngày hẹn." in page.text
    assert f"/entries/{eid}" in page.text
    assert ">0</a>" in as_user(world["carol"]).get("/notifications/count").text
    assert "Ghi thiếu ngày hẹn." not in as_user(world["carol"]).get("/notifications").text
    assert as_user(world["eve"]).get("/notifications").status_code == 200
    assert client.get("/notifications/count").status_code == 401
    r = client.get("/notifications", follow_redirects=False)
    assert r.status_code in (302, 303)


def test_official_notifications_list_overdue_entries(world, as_user):
    old = entry(world, received_at=NOW - dt.timedelta(days=6))
    fresh = entry(world)
    far = entry(world, author="erin", commune="B", received_at=NOW - dt.timedelta(days=6))
    text = as_user(world["alice"]).get("/notifications").text
    assert str(old) in text and str(fresh) not in text and str(far) not in text
    assert ">1</a>" in as_user(world["alice"]).get("/notifications/count").text


def test_home_pages_show_the_review_blocks(world, as_user):
    entry(world, received_at=NOW - dt.timedelta(days=6))
    entry(world)
    back = entry(world)
    run(queries.return_entry(me(world, "alice", "official"), back, 1, "Sửa lại nguy cơ."))
    alice = as_user(world["alice"]).get("/").text
    assert "Bản ghi chờ duyệt: 2" in alice and "quá hạn: 1" in alice
    bob = as_user(world["bob"]).get("/").text
    assert "Sửa lại nguy cơ." in bob
    assert "Sửa lại nguy cơ." not in as_user(world["carol"]).get("/").text


def test_the_volunteer_home_lists_what_notifications_list_as_rejected(world, as_user):
    """The home's "Rejected recently" card reads only the rejected entries
    (list_recent_rejections): the same rows, in the same order, as the notifications'
    `rejected` list — not a returned one, not one rejected before the notice period, not
    another volunteer's."""
    official = me(world, "alice", "official")
    for days, comment in ((1, "Trùng lặp một."), (4, "Trùng lặp hai."), (9, "Sai ngày.")):
        gone = entry(world)
        run(queries.reject_entry(official, gone, 1, comment))
        run(Entry.update({Entry.reviewed_at: NOW - dt.timedelta(days=days)})
            .where(Entry.id == gone))
    entry(world, state="rejected", reviewed_at=NOW - dt.timedelta(days=30), review_comment="Cũ")
    back = entry(world)
    run(queries.return_entry(official, back, 1, "Bổ sung."))
    entry(world, author="carol", state="rejected", reviewed_at=NOW, review_comment="Của Carol")
    bob = me(world, "bob")
    rejected = run(queries.list_recent_rejections(bob))
    assert rejected == run(queries.list_notifications(bob))["rejected"]
    assert [r["review_comment"] for r in rejected] == [
        "Trùng lặp một.", "Trùng lặp hai.", "Sai ngày."]
    home = as_user(world["bob"]).get("/").text
    card = home[home.index('id="review-home"'):]
    card = card[:card.index("</section>")]
    assert "Trùng lặp một." in card and "Sai ngày." in card
    assert "Cũ" not in card and "Của Carol" not in card and "Bổ sung." not in card
