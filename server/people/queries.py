"""Reading the register: lists with filters, due/overdue, caseloads and access-checked loaders.

*Due* and *overdue* come from the last visit (an `entry` of kind `visit`, submitted or approved),
or — for a person never visited — from the day they entered the register (their first category
period). `next due = reference + the commune's visit_frequency_days`; a person is **overdue**
when that day has passed and **due** when it falls within the next `DUE_SOON_DAYS` days. The
last visit is one grouped aggregate per commune, never a loop over visits in Python.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec

from server.areas.tables import Area, User
from server.audit.labels import action_label
from server.audit.queries import list_events
from server.errors import NotFound
from server.parse import page_number
from server.people.labels import CATEGORIES, category_label, fold
from server.people.tables import CategoryPeriod, Person, TeamMember
from server.vntime import to_vietnam, today
from server.web import CurrentUser, db_id

DUE_SOON_DAYS = 7
PAGE_SIZE = 25
SORTS = ("due", "name", "code", "village", "recent")


class PeopleFilter(msgspec.Struct):
    """What an official filters the register by; every field as typed in the query string."""

    q: str = ""
    village: str = ""
    category: str = ""
    supporter: str = ""
    status: str = "active"
    due: str = ""  # "" | due | overdue
    sort: str = "due"
    page: str = "1"

    @property
    def page_no(self) -> int:
        return page_number(self.page)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


async def get_visit_frequency(commune_id: int) -> int:
    # Raw SQL, built once: the register and the official's home run it on every view.
    rows = await Area.raw("SELECT visit_frequency_days FROM area WHERE id = {}", commune_id)
    days = rows[0]["visit_frequency_days"] if rows else None
    return int(days) if days else 30


# The register with each person's last visit and reference date, for one commune. Never
# visited here, a person transferred in counts from their arrival (people/transfers.py).
_BASE = """
SELECT y.*, COALESCE(y.last_visit, (SELECT MAX(pt.moved_on) FROM person_transfer pt
                                    WHERE pt.person = y.id AND pt.state = 'accepted'),
                     (SELECT MIN(cp.start_date) FROM category_period cp
                      WHERE cp.person = y.id)) AS ref_date
FROM (
  SELECT p.id, p.code, p.full_name, p.search_text, p.birth_year, p.sex, p.category, p.status,
         p.village, p.phone, v.name AS village_name,
         -- one index seek per person (entry_person_state), not a pass over the commune's visits
         (SELECT MAX(e.entry_date) FROM entry e
          WHERE e.person = p.id AND __COMMUNE__ = {} AND e.kind = 'visit'
            AND e.state IN ('submitted', 'approved')) AS last_visit,
         (SELECT u.display_name FROM team_member t JOIN app_user u ON u.id = t."user"
          WHERE t.person = p.id AND t.role = 'primary' AND t.end_date IS NULL
          ORDER BY t.id DESC LIMIT 1) AS primary_name
  FROM person p
  LEFT JOIN area v ON v.id = p.village
  WHERE p.commune = {}__PEOPLE__
  __FENCE__
) y
"""

# SQLite has no statistics (nothing runs ANALYZE) and, given `e.commune = ?`, picks a
# (commune, kind, state) index: a pass over the commune's ~10,000 visits for each person. "+ 0"
# keeps it on the person's index. PostgreSQL must not get it: its estimate would change and it
# would give up reading the newest visit from the (person, kind, entry_date) index. Chosen
# when a query runs, not at import: the engine is configured after this module is imported.
#
# The filters on the person's own columns (`people`: search, village, category, status,
# supporter) go inside, so the subqueries run only for the people that pass them. PostgreSQL
# flattens `y` and then runs the last-visit subquery twice per person (for the sort key through
# ref_date, and for the output); `OFFSET 0` keeps `y` whole, so it runs once (EXPLAIN ANALYZE
# on the province dataset, a volunteer's 21 people: 2 × 21 → 21 heap scans of their visits).
def _base(people: str = "") -> str:
    sqlite = Person._meta.db.engine_type == "sqlite"
    return _BASE.replace("__COMMUNE__", "e.commune + 0" if sqlite else "e.commune") \
        .replace("__PEOPLE__", people).replace("__FENCE__", "" if sqlite else "OFFSET 0")


_ORDER = {
    "due": "CASE WHEN x.status = 'active' THEN 0 ELSE 1 END, x.ref_date, x.code",
    "name": "x.search_text, x.code",
    "code": "x.code",
    "village": "x.village_name, x.search_text, x.code",
    "recent": "x.id DESC",
}


def _where(commune_id: int, f: PeopleFilter, freq: int, on_team_of: int | None,
           columns: str = "*") -> tuple[str, list[Any]]:
    """The filtered register as SQL (a derived table `x`, `columns` of it) and its
    arguments."""
    people: list[str] = []  # on the person's own columns: inside the register (_base)
    args: list[Any] = [commune_id, commune_id]
    for word in fold(f.q).replace("%", " ").replace("_", " ").split()[:6]:
        # Each word matches the start of a word of the name ("an" finds "An" and "Anh",
        # not "Văn"), or any part of the code.
        people.append("((' ' || p.search_text) LIKE {} OR LOWER(p.code) LIKE {})")
        args += [f"% {word}%", f"%{word}%"]
    village = db_id(f.village)
    if village is not None:
        people.append("p.village = {}")
        args.append(village)
    if f.category in CATEGORIES:
        people.append("p.category = {}")
        args.append(f.category)
    if f.status in ("active", "ended"):
        people.append("p.status = {}")
        args.append(f.status)
    supporter = on_team_of if on_team_of is not None else db_id(f.supporter)
    if supporter is not None:
        people.append('EXISTS (SELECT 1 FROM team_member t WHERE t.person = p.id '
                      'AND t."user" = {} AND t.end_date IS NULL)')
        args.append(supporter)
    clauses: list[str] = []  # on the computed reference day: outside
    now = today()
    if f.due == "overdue":
        clauses.append("x.status = 'active' AND x.ref_date < {}")
        args.append(now - dt.timedelta(days=freq))
    elif f.due == "due":
        clauses.append("x.status = 'active' AND x.ref_date <= {}")
        args.append(now + dt.timedelta(days=DUE_SOON_DAYS - freq))
    where = " AND ".join(clauses) or "1 = 1"
    inside = "".join(f" AND {c}" for c in people)
    return f"SELECT {columns} FROM ({_base(inside)}) x WHERE {where}", args


def _decorate(row: dict[str, Any], freq: int, now: dt.date) -> dict[str, Any]:
    row["last_visit"] = _as_date(row.get("last_visit"))
    ref = _as_date(row.get("ref_date"))
    row["next_due"] = ref + dt.timedelta(days=freq) if ref and row["status"] == "active" \
        else None
    if row["next_due"] is None:
        row["due_state"] = ""
    elif row["next_due"] < now:
        row["due_state"] = "overdue"
    elif row["next_due"] <= now + dt.timedelta(days=DUE_SOON_DAYS):
        row["due_state"] = "due"
    else:
        row["due_state"] = "ok"
    row["category_label"] = category_label(row["category"])
    return row


async def list_people(commune_id: int, f: PeopleFilter, *, limit: int = PAGE_SIZE,
                      on_team_of: int | None = None, with_count: bool = True,
                      freq: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the commune's register and the total number of matching people
    (-1 when `with_count` is off; `limit=0` skips the rows). `freq` is the commune's visit
    frequency when the caller already has it (list_register_choices)."""
    if freq is None:
        freq = await get_visit_frequency(commune_id)
    sql, args = _where(commune_id, f, freq, on_team_of)
    total = -1
    if limit == 0 and with_count:
        return [], await _count_people(sql, args)
    if limit == 0:
        return [], total
    order = _ORDER.get(f.sort, _ORDER["due"])
    offset = (f.page_no - 1) * limit
    counted = sql
    if with_count:
        # The page and the number of matching people in one statement: a window's count is
        # taken over every row that passes the filters, before ORDER BY and LIMIT (one round
        # trip fewer for the register; on PostgreSQL each is ~0.4 ms of CPU).
        sql, args = _where(commune_id, f, freq, on_team_of,
                           "x.*, COUNT(*) OVER () AS register_total")
    rows = await Person.raw(f"{sql} ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}",
                            *args)
    if with_count:
        for r in rows:
            total = int(r.pop("register_total"))
        if not rows:  # past the last page, or nobody matches: the count alone
            total = 0 if offset == 0 else await _count_people(counted, args)
    now = today()
    return [_decorate(r, freq, now) for r in rows], total


async def _count_people(sql: str, args: list[Any]) -> int:
    count = await Person.raw(f"SELECT COUNT(*) AS n FROM ({sql}) c", *args)
    return int(count[0]["n"])


async def count_due(commune_id: int) -> dict[str, int]:
    """Active, due-soon and overdue counts for the official's home page, in one pass over the
    register (the filters of `list_people`: due includes overdue)."""
    freq = await get_visit_frequency(commune_id)
    sql, args = _where(commune_id, PeopleFilter(status="active"), freq, None)
    now = today()
    rows = await Person.raw(
        "SELECT COUNT(*) AS active, "
        "SUM(CASE WHEN c.ref_date <= {} THEN 1 ELSE 0 END) AS due, "
        f"SUM(CASE WHEN c.ref_date < {{}} THEN 1 ELSE 0 END) AS overdue FROM ({sql}) c",
        now + dt.timedelta(days=DUE_SOON_DAYS - freq), now - dt.timedelta(days=freq), *args)
    row = rows[0] if rows else {}
    return {key: int(row.get(key) or 0) for key in ("active", "due", "overdue")}


async def list_caseload(user: CurrentUser) -> list[dict[str, Any]]:
    """The active people a user may record for, overdue first.

    A volunteer: the people whose team they are on. An official: every active person of the
    commune. Anyone else: nobody.
    """
    if user.commune_id is None or user.role not in ("volunteer", "official"):
        return []
    # One statement: the commune's visit frequency comes with each row (an uncorrelated
    # subquery, run once) rather than in a statement of its own before — the volunteer home,
    # the caseload API and the record forms run this on every view. No due filter here, so the
    # frequency is needed only for each row's next visit.
    sql, args = _where(user.commune_id, PeopleFilter(status="active"), 0,
                       user.id if user.role == "volunteer" else None)
    rows = await Person.raw(
        "SELECT x.*, (SELECT a.visit_frequency_days FROM area a WHERE a.id = {}) "
        f"AS visit_frequency FROM ({sql}) x ORDER BY {_ORDER['due']} LIMIT 5000",
        user.commune_id, *args)
    now = today()
    for r in rows:
        freq = r.pop("visit_frequency")
        _decorate(r, int(freq) if freq else 30, now)
    return rows


async def get_person_for(user: CurrentUser, person_id: int) -> dict[str, Any]:
    """The person with their village name, or 404 unless the user may see them.

    Officials see their commune's register; volunteers only the people on whose team they
    currently are; nobody else sees any person.
    """
    _may_look_up(user, person_id)
    # One raw statement, built once (the person page's first query): the person, their
    # village's name and whether the user is on their team now.
    rows = await Person.raw(
        "SELECT p.*, v.name AS village_name, EXISTS (SELECT 1 FROM team_member t "
        'WHERE t.person = p.id AND t."user" = {} AND t.end_date IS NULL) AS on_team '
        "FROM person p LEFT JOIN area v ON v.id = p.village "
        "WHERE p.id = {} AND p.commune = {}", user.id, person_id, user.commune_id)
    return _seen_by(user, rows)


def _may_look_up(user: CurrentUser, person_id: int) -> None:
    """404 before any read for a user who sees no person, or an id that cannot be one."""
    if user.commune_id is None or user.role not in ("volunteer", "official") or \
            db_id(person_id) is None:
        raise NotFound()


def _seen_by(user: CurrentUser, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The person's row of a statement that read it within the user's commune with `on_team`:
    404 when there is none, or when a volunteer is not on the person's team now."""
    if not rows:
        raise NotFound()
    row = rows[0]
    if user.role == "volunteer" and not row["on_team"]:
        raise NotFound()
    del row["on_team"]
    return row


# The register's own columns of a person (`_BASE`'s inner select, from the person's row).
_REGISTER_COLUMNS = ("id", "code", "full_name", "search_text", "birth_year", "sex", "category",
                     "status", "village", "phone", "village_name")


async def get_person_with_due(user: CurrentUser, person_id: int) -> \
        tuple[dict[str, Any], dict[str, Any]]:
    """`get_person_for` and `get_due_for` in one statement, for the person page: the same
    person (404 on the same terms) and the same due row. Their statements were two of the
    page's fixed cost — on PostgreSQL each round trip is ~0.4 ms of CPU whatever its work."""
    _may_look_up(user, person_id)
    rows = await Person.raw(
        "SELECT p.*, v.name AS village_name, EXISTS (SELECT 1 FROM team_member t "
        'WHERE t.person = p.id AND t."user" = {} AND t.end_date IS NULL) AS on_team, '
        "d.last_visit AS due_last_visit, d.primary_name AS due_primary_name, "
        "d.ref_date AS due_ref_date, (SELECT a.visit_frequency_days FROM area a "
        "WHERE a.id = p.commune) AS due_frequency "
        "FROM person p LEFT JOIN area v ON v.id = p.village "
        f"LEFT JOIN ({_base(' AND p.id = {}')}) d ON d.id = p.id "
        "WHERE p.id = {} AND p.commune = {}",
        user.id, user.commune_id, user.commune_id, person_id, person_id, user.commune_id)
    row = _seen_by(user, rows)
    due = {k: row[k] for k in _REGISTER_COLUMNS}
    due["last_visit"] = row.pop("due_last_visit")
    due["primary_name"] = row.pop("due_primary_name")
    due["ref_date"] = row.pop("due_ref_date")
    freq = row.pop("due_frequency")
    return row, _decorate(due, int(freq) if freq else 30, today())


async def get_due_for(user: CurrentUser, person_id: int) -> dict[str, Any]:
    """Last visit, next due day and due state of one person (already access-checked)."""
    # The commune's visit frequency comes in the same statement (the person page's own
    # statements are a fixed cost of every view: one fewer round trip and query build).
    sql = (f"SELECT x.*, (SELECT a.visit_frequency_days FROM area a WHERE a.id = {{}}) "
           f"AS visit_frequency FROM ({_base(' AND p.id = {}')}) x")
    commune = user.commune_id or 0
    rows = await Person.raw(sql, commune, user.commune_id, user.commune_id, person_id)
    if not rows:
        return {}
    row = rows[0]
    freq = row.pop("visit_frequency")
    return _decorate(row, int(freq) if freq else 30, today())


async def list_periods(person_id: int) -> list[dict[str, Any]]:
    # Raw SQL, built once: a person page runs it on every view.
    rows = await CategoryPeriod.raw(
        "SELECT * FROM category_period WHERE person = {} ORDER BY start_date DESC, id DESC",
        person_id)
    for r in rows:
        r["category_label"] = category_label(r["category"])
        for k in ("start_date", "planned_end", "actual_end"):
            r[k] = _as_date(r[k])
    return rows


async def get_open_period(person_id: int) -> dict[str, Any] | None:
    return await CategoryPeriod.select().where(
        (CategoryPeriod.person == person_id) & CategoryPeriod.actual_end.is_null()).order_by(
        CategoryPeriod.id, ascending=False).first()


async def list_team(person_id: int, commune_id: int, *,
                    include_ended: bool = True) -> list[dict[str, Any]]:
    """The person's management team as the commune knows it: only its own users. A person
    transferred in keeps the first commune's (ended) team rows, whose names that commune's
    officials and volunteers alone may see (server/people/transfer_queries.py)."""
    sql = ('SELECT t.*, u.display_name AS user_name, u.role AS user_role FROM team_member t '
           'JOIN app_user u ON u.id = t."user" WHERE t.person = {} AND u.area = {}')
    if not include_ended:
        sql += " AND t.end_date IS NULL"
    rows = await TeamMember.raw(f"{sql} ORDER BY t.id", person_id, commune_id)
    for r in rows:
        r["start_date"], r["end_date"] = _as_date(r["start_date"]), _as_date(r["end_date"])
    # Current members first, the primary supporter at the top.
    rows.sort(key=lambda r: (r["end_date"] is not None, r["role"] != "primary"))
    return rows


# The register's filter choices and the commune's visit frequency in one statement (three
# Piccolo selects cost ~1 ms of Python each to build): rows tagged v (village), u (supporter)
# and f (the frequency, in `id`), each list in name order.
_REGISTER_CHOICES = (
    "SELECT 'v' AS part, id, name FROM area WHERE parent = {} AND level = 'village' "
    "UNION ALL SELECT 'u' AS part, id, display_name AS name FROM app_user "
    "WHERE area = {} AND active = {} AND role IN ('volunteer', 'official') "
    "UNION ALL SELECT 'f' AS part, visit_frequency_days AS id, '' AS name FROM area "
    "WHERE id = {} ORDER BY part, name")


async def list_register_choices(commune_id: int) -> dict[str, Any]:
    """What the register's filter form offers — villages (id, name) and supporters (id,
    display_name; as list_supporters) — and the commune's visit frequency (`freq`)."""
    rows = await Person.raw(_REGISTER_CHOICES, commune_id, commune_id, True, commune_id)
    freq = next((r["id"] for r in rows if r["part"] == "f"), None)
    return {"villages": [{"id": r["id"], "name": r["name"]} for r in rows if r["part"] == "v"],
            "supporters": [{"id": r["id"], "display_name": r["name"]} for r in rows
                           if r["part"] == "u"],
            "freq": int(freq) if freq else 30}


async def list_supporters(commune_id: int) -> list[dict[str, Any]]:
    """Active volunteers and officials of the commune, who may join a management team."""
    return await User.select(User.id, User.display_name, User.role).where(
        (User.area == commune_id) & (User.active == True)  # noqa: E712 - Piccolo needs ==
        & User.role.is_in(["volunteer", "official"])).order_by(User.display_name)


async def find_duplicates(commune_id: int, names_years: list[tuple[str, int]]) -> \
        dict[tuple[str, int], str]:
    """Existing people with the same folded name and birth year → their code."""
    if not names_years:
        return {}
    names = sorted({n for n, _y in names_years})
    rows = await Person.select(Person.search_text, Person.birth_year, Person.code).where(
        (Person.commune == commune_id) & Person.search_text.is_in(names))
    wanted = set(names_years)
    return {(r["search_text"], r["birth_year"]): r["code"] for r in rows
            if (r["search_text"], r["birth_year"]) in wanted}


async def list_person_audit(commune_id: int, person_id: int) -> list[dict[str, Any]]:
    """The person's audit trail, newest first, with the actors' names."""
    events = await list_events(commune_id, person_id=person_id, limit=500)
    for e in events:
        if isinstance(e["detail"], str):
            e["detail"] = json.loads(e["detail"] or "{}")
    ids = sorted({e["actor_id"] for e in events if e["actor_id"]}
                 | {e["detail"]["user_id"] for e in events
                    if isinstance(e["detail"].get("user_id"), int)})
    names = {u["id"]: u["display_name"] for u in await User.select(
        User.id, User.display_name).where(User.id.is_in(ids))} if ids else {}
    for e in events:
        e["at_local"] = to_vietnam(e["at"])
        e["actor_name"] = names.get(e["actor_id"], "")
        e["member_name"] = names.get(e["detail"].get("user_id"), "")
        e["label"] = action_label(e["action"]) or e["action"]
    return events


# ---------------------------------------------------------------- for the audit log's filter


async def find_person_in_commune(commune_id: int, text: str) -> int | None:
    """A person of the commune by code (e.g. HK-0042) or by numeric id, for the log filter."""
    text = text.strip()
    where: Any = Person.code == text
    if (person_id := db_id(text)) is not None:
        where = where | (Person.id == person_id)
    row = await Person.select(Person.id).where((Person.commune == commune_id) & where).first()
    return int(row["id"]) if row else None


async def describe_people(commune_id: int, ids: list[int]) -> dict[int, str]:
    """Person id → "code name" for the rows shown (the commune's own people only)."""
    if not ids:
        return {}
    rows = await Person.select(Person.id, Person.code, Person.full_name).where(
        (Person.commune == commune_id) & Person.id.is_in(sorted(set(ids))))
    return {r["id"]: f"{r['code']} {r['full_name']}" for r in rows}
