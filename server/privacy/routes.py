"""A person's right to see their data: `/people/{id}/data`, everything the commune holds about
one person on one printable A4 page (register data, category history, team, visits and
referrals with their steps, and who read or changed the record and when), with a link to
correct it through the register's edit form. Officials of the person's commune only; every
export is audited; never cached.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from server.people.labels import category_label, end_reason_label, sex_label
from server.privacy.service import gather_person_data
from server.vntime import today as vn_today
from server.web import SignedIn


@get("/people/{person_id:int}/data", name="person-data", include_in_schema=False,
     opt={"roles": ("official",)})
async def person_data(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    context = await gather_person_data(user, person_id)  # 404 outside the official's commune
    response = Template(template_name="privacy/person_data.html", context={
        **context, "printed_on": vn_today(), "sex_label": sex_label,
        "category_label": category_label, "end_reason_label": end_reason_label,
        "request": request})
    response.headers["Cache-Control"] = "no-store"
    return response


route_handlers = [person_data]
