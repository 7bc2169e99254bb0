"""Reports by public number (DID): the call's DID, the numbers' descriptions, two roll-ups.

``call_log.did`` is CallStarted's ``did``, which analytics did not keep until now: calls
projected before this revision have none (``rebuild`` replays their CallStarted and fills
it). ``dids`` holds the numbers' descriptions (``DidChanged`` on telephony.directory; empty
until telephony publishes a change or ``rebuild`` replays them). ``calls_by_day_did`` and
``calls_by_hour_did`` are keyed by DID first, then time and clinic, with the KPI
histograms; every existing call has no DID yet, so they start as the clinic roll-ups under
the empty DID. The column list is this revision's own copy (a migration does not follow
later code).

Revision ID: 0010
Revises: 0009
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WAIT_BOUNDS = (*range(121), 150, 180, 240, 300, 600)
CALLBACK_DELAY_BOUNDS = (
    0, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800, 43200,
    57600, 72000, 86400,
)  # fmt: skip
KPI_COLUMNS = [
    *(f"wait_{lower}s" for lower in WAIT_BOUNDS),
    *(f"callback_delay_{lower}s" for lower in CALLBACK_DELAY_BOUNDS),
]
MEASURES = ["calls", "talk_seconds", "wait_seconds", *KPI_COLUMNS]
DIMENSIONS = ["call_type", "disposition", "called_back"]

#: name: (time column and type, the clinic roll-up it starts from)
ROLLUPS: dict[str, tuple[str, Any, str]] = {
    "calls_by_day_did": ("local_day", sa.Date(), "calls_by_day_clinic"),
    "calls_by_hour_did": ("local_hour", sa.DateTime(timezone=False), "calls_by_hour_clinic"),
}


def _text(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(collation="C"), primary_key=True)


def upgrade() -> None:
    op.add_column("call_log", sa.Column("did", sa.Text))
    op.create_table(
        "dids",
        sa.Column("did", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
    )
    for name, (time_name, time_type, clinic_rollup) in ROLLUPS.items():
        op.create_table(
            name,
            _text("did"),
            sa.Column(time_name, time_type, primary_key=True),
            _text("clinic_id"),
            _text("call_type"),
            _text("disposition"),
            sa.Column("called_back", sa.Boolean, primary_key=True),
            sa.Column("calls", sa.BigInteger, nullable=False),
            sa.Column("talk_seconds", sa.BigInteger, nullable=False),
            sa.Column("wait_seconds", sa.BigInteger, nullable=False),
            *(sa.Column(column, sa.BigInteger) for column in KPI_COLUMNS),
        )
        copied = [time_name, "clinic_id", *DIMENSIONS, *MEASURES]
        source = sa.table(clinic_rollup, *(sa.column(c) for c in copied))
        target = sa.table(name, sa.column("did"), *(sa.column(c) for c in copied))
        op.execute(
            target.insert().from_select(
                ["did", *copied],
                sa.select(sa.literal(""), *(source.c[c] for c in copied)).where(source.c.calls > 0),
            )
        )


def downgrade() -> None:
    for name in ROLLUPS:
        op.drop_table(name)
    op.drop_table("dids")
    op.drop_column("call_log", "did")
