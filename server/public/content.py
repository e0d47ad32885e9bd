"""The project's starting text of the public page, and how page text becomes HTML.

The starting text is written once here, in English msgids with their Vietnamese translation in
`server/locale/vi/public.po`, in the words of the Law on Drug Prevention and Control (voluntary
rehab at home or in the community, substitution treatment, post-rehab management) and never
"đối tượng". Officials edit a copy; a page that keeps the standard text follows its updates.

Page text is plain text with two marks an official can type on any phone: a line starting
with "## " is a heading, lines starting with "- " are a list. Everything is escaped.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from server import i18n
from server.i18n import N_

# (heading, paragraph); the opening paragraph has no heading.
STANDARD = [
    (None, N_("Using drugs is a health problem that can be treated. The Law on Drug Prevention "
              "and Control gives people who use drugs, and their families, the right to advice "
              "and support — without judgement, and what you tell us is kept confidential.")),
    (N_("Voluntary rehab at home or in the community"),
     N_("A person who uses drugs can register with the commune People's Committee for "
        "voluntary rehab at home or in the community, for 6 to 12 months. The commune's rehab "
        "team and the health station look after health, give counselling and walk alongside "
        "the person and the family. Voluntary rehab at a rehab facility is also possible.")),
    (N_("Methadone (substitution treatment)"),
     N_("People who use heroin or other opioids can register for methadone treatment at a "
        "treatment facility. A daily dose taken under the care of health staff helps to stay "
        "healthy, keep working and look after the family.")),
    (N_("Support after rehab"),
     N_("After rehab the commune goes on supporting the person where they live: counselling, "
        "vocational training, help to find work or a loan, and a place in community life, so "
        "that drug use does not return.")),
    (N_("For families"),
     N_("Families can call the counselling line, or come to the commune People's Committee or "
        "the health station, to learn how to support their relative. The law forbids stigma "
        "and discrimination against people who use drugs: everyone deserves respect.")),
]

# The poster's four lines: the same offers, short enough for a notice board.
POSTER_LINES = [
    N_("Voluntary rehab at home or in the community"),
    N_("Methadone treatment"),
    N_("Support after rehab: counselling, vocational training, work"),
    N_("Confidential advice for families"),
]

LANGS = ("vi", "en")


def standard_text(lang: str) -> str:
    """The starting text in one language, whatever the language of the current request."""
    tr = i18n.catalog(lang).gettext
    blocks = []
    for heading, paragraph in STANDARD:
        blocks.append((f"## {tr(heading)}\n" if heading else "") + tr(paragraph))
    return "\n\n".join(blocks)


def normalise(text: str) -> str:
    """Line endings and trailing spaces as one text, so "unchanged" is recognised."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


def stored_body(text: str, lang: str) -> str | None:
    """What to keep for a submitted body: None when it is the standard text (or empty, for
    the optional English), so the page keeps following the project's text."""
    text = normalise(text)
    if not text or text == normalise(standard_text(lang)):
        return None
    return text


def body_for(bodies: dict[str, str | None], lang: str) -> str:
    """The text a visitor reads in `lang`: the commune's own, else the standard text."""
    return bodies.get(lang) or standard_text(lang)


def render(text: str) -> Markup:
    """Plain page text as HTML: paragraphs, "## " headings, "- " lists; all escaped."""
    out: list[str] = []
    run: list[str] = []  # consecutive lines of one kind
    kind = ""

    def close(run: list[str], kind: str) -> None:
        if kind == "li":
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in run) + "</ul>")
        elif kind == "p":
            out.append("<p>" + "<br>".join(str(escape(p)) for p in run) + "</p>")

    for raw in normalise(text).split("\n") + [""]:
        line = raw.strip()
        new = "" if not line else "h" if line.startswith("## ") else \
            "li" if line.startswith("- ") else "p"
        if new != kind or new == "h":
            close(run, kind)
            run, kind = [], new
        if new == "h":
            out.append(f"<h3>{escape(line[3:].strip())}</h3>")
            kind = ""
        elif new:
            run.append(line[2:].strip() if new == "li" else line)
    return Markup("\n".join(out))


def tel_href(number: str) -> str:
    """A `tel:` link for a number as written on a notice ("0237 3865 111" → tel:02373865111)."""
    return "tel:" + re.sub(r"[^0-9+]", "", number)
