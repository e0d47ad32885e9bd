"""What each audit action is called where people read the log: one label per action code, for
the commune's log (`/audit`), a person's trail and the print-out of what is held about a person.
An action without a label shows its code."""

from __future__ import annotations

from server.i18n import N_, _

ACTION_LABELS: dict[str, str] = {
    "entry.approve": N_("Entry approved"), "entry.return": N_("Entry returned"),
    "entry.reject": N_("Entry rejected"), "entry.reopen": N_("Entry reopened"),
    "entry.view": N_("Entry opened for review"),
    "auth.sign_in": N_("Signed in"), "auth.enrol": N_("Passkey created"),
    "user.invite": N_("User invited"), "user.revoke_passkeys": N_("Passkeys revoked"),
    "person.view": N_("Viewed the person page"),
    "person.create": N_("Added to the register"),
    "person.update": N_("Edited the details"),
    "person.category": N_("Changed the category"),
    "person.close": N_("Ended the support"),
    "team.assign": N_("Added to the team"),
    "team.unassign": N_("Removed from the team"),
    "person.export": N_("Printed everything held about the person"),
    "person.anonymise": N_("Anonymised: the retention period had passed"),
}


def action_label(action: str) -> str | None:
    """The translated label of an action, or None when it has none."""
    label = ACTION_LABELS.get(action)
    return _(label) if label else None
