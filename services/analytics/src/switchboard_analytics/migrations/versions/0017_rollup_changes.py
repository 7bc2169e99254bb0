"""``rollup_changes``: the roll-ups' changes, appended by the projection and folded into
the roll-ups beside it.

The projection added each batch's calls to the twenty roll-ups in its own transaction:
one grouped upsert per roll-up, about 25 µs a row on the finest ones, more than half of
its statements' time, one after the other with the rest of the batch. It now appends
each changed call's roll-up keys and measures with a sign (-1 before the change, +1
after) to this table, which has no index, and a folder on a connection of its own adds
them to the roll-ups and deletes them. A roll-up plus the changes not folded yet equals
a GROUP BY over the call log.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_KEY = sa.Text(collation="C")
_CONVERSION = (
    "with_touch",
    "with_appointment",
    "cancelled",
    "appointments",
    "appointments_cancelled",
)


def upgrade() -> None:
    op.create_table(
        "rollup_changes",
        sa.Column("local_hour", sa.DateTime(timezone=False), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("local_month", sa.Date(), nullable=False),
        sa.Column("clinic_id", _KEY, nullable=False),
        sa.Column("admin_id", _KEY, nullable=False),
        sa.Column("did", _KEY, nullable=False),
        sa.Column("call_type", _KEY, nullable=False),
        sa.Column("disposition", _KEY, nullable=False),
        sa.Column("called_back", sa.Boolean, nullable=False),
        sa.Column("talk_seconds", sa.Integer, nullable=False),
        sa.Column("wait_seconds", sa.Integer, nullable=False),
        sa.Column("wait_bucket", sa.Integer),
        sa.Column("delay_bucket", sa.Integer),
        *(sa.Column(column, sa.Integer, nullable=False) for column in _CONVERSION),
        sa.Column("sign", sa.SmallInteger, nullable=False),
    )


def downgrade() -> None:
    # Changes not folded yet would be lost: the downgrade refuses while there are any.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM rollup_changes) THEN "
        "RAISE EXCEPTION 'rollup_changes is not empty: let analytics fold it first'; "
        "END IF; END $$"
    )
    op.drop_table("rollup_changes")
