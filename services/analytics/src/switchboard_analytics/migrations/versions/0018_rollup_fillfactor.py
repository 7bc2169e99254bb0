"""The roll-ups leave a tenth of each page free (``fillfactor`` 90).

Every fold rewrites the roll-up rows of the calls it adds: on a full page the new
version of a row goes to another page and every index of the table gets a new entry for
it; with room on its page it is a HOT update, and the indexes are left alone. Rows
written from now on get the room (existing pages are not rewritten: ``rebuild`` writes
every row again, with it).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ROLLUPS = (
    "calls_by_day_total",
    "calls_by_hour_total",
    "calls_by_day_clinic",
    "calls_by_hour_clinic",
    "calls_by_month",
    "calls_by_day",
    "calls_by_hour",
    "calls_by_month_did",
    "calls_by_day_did",
    "calls_by_hour_did",
    "kpi_by_day_total",
    "kpi_by_hour_total",
    "kpi_by_day_clinic",
    "kpi_by_hour_clinic",
    "kpi_by_month",
    "kpi_by_day",
    "kpi_by_hour",
    "kpi_by_month_did",
    "kpi_by_day_did",
    "kpi_by_hour_did",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect
    for table in _ROLLUPS:
        # A table name cannot be a bound parameter: quoted by the dialect.
        name = dialect.identifier_preparer.quote(table)
        op.execute(f"ALTER TABLE {name} SET (fillfactor = 90)")


def downgrade() -> None:
    dialect = op.get_bind().dialect
    for table in _ROLLUPS:
        name = dialect.identifier_preparer.quote(table)
        op.execute(f"ALTER TABLE {name} RESET (fillfactor)")
