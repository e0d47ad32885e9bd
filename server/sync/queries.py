"""Sync's reads: the update feed of an author's entries. (Storing a batch is the records
write path's job: server.records.batch.)"""

from __future__ import annotations

from typing import Any

from server.records.feed_queries import current_change_seq
from server.records.tables import Entry
from server.web import CurrentUser

# Changes per page of the feed. The phone asks again while `more` (pwa/outbox.js), so this is
# only how much one answer carries: 100 (~19 KB of JSON) keeps an answer quick to build,
# compress and receive on a slow link; 500 took ~5x as long and ~95 KB.
FEED_PAGE = 100

# Raw SQL, built once: Piccolo's select costs more Python to build than the seek on
# entry_author_seq costs to run.
_FEED = ("SELECT id, kind, state, version, receipt, review_comment, updated_at, change_seq "
         "FROM entry WHERE author = {} AND change_seq > {} ORDER BY change_seq LIMIT {}")


async def list_updates_for(user: CurrentUser, since: int | None,
                           limit: int = FEED_PAGE) -> tuple[list[dict[str, Any]], str, bool]:
    """The user's entries changed after feed number `since`, oldest change first: (updates,
    cursor, more). `more` is True when `limit` cut the page; the phone asks again from the
    cursor. Numbers are taken in the writing transaction in commit order per author
    (server.records.feed_queries), so "after `since`" never skips a decision committed late.

    Without `since` (a phone's first call) nothing is sent, only the current cursor: the phone
    learns each record's state from the sync answer, and the feed after that brings the
    decisions taken since — so a first visit does not download a whole history."""
    if since is None:
        return [], str(await current_change_seq(user.id)), False
    rows = await Entry.raw(_FEED, user.id, since, int(limit) + 1)
    more = len(rows) > limit
    items = [{"id": str(r["id"]), "kind": r["kind"], "state": r["state"],
              "version": r["version"], "receipt": r["receipt"],
              "comment": r["review_comment"] or "",
              "updated_at": r["updated_at"].isoformat(), "seq": r["change_seq"]}
             for r in rows[:limit]]
    cursor = str(items[-1]["seq"]) if items else str(since)
    return items, cursor, more
