"""Which people have been anonymised, and when: the retention job skips them afterwards."""

from piccolo.columns import Date, ForeignKey, Integer, Serial, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.people.tables import Person


class Anonymisation(Table):
    id = Serial(primary_key=True)
    person = ForeignKey(Person, unique=True, index=True)
    support_ended = Date()
    anonymised_at = Timestamptz(default=TimestamptzNow())
    entries = Integer(default=0)  # how many of their entries were scrubbed
