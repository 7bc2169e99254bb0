"""The names a search by contact name looks up: ``contact_names``, one row per name a
touch has carried, with the trigram index, and the call log indexed by name instead of by
the name's trigrams.

At 10 M calls the call log's trigram index on the contact's name read the lists of every
call whose name shared the searched name's trigrams (a common surname is in a tenth of
the calls): 100 to 200 ms for a page. The names are a few hundred thousand; their calls
are then found by name.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("contact_names", sa.Column("name", sa.Text, primary_key=True))
    op.execute(
        "INSERT INTO contact_names (name) SELECT DISTINCT contact_name FROM touches"
        " WHERE contact_name IS NOT NULL AND contact_name <> ''"
    )
    op.create_index(
        "ix_contact_names_name_trgm",
        "contact_names",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index("ix_call_log_contact_name", "call_log", ["contact_name"])
    op.drop_index("ix_call_log_contact_name_trgm", table_name="call_log")


def downgrade() -> None:
    op.create_index(
        "ix_call_log_contact_name_trgm",
        "call_log",
        ["contact_name"],
        postgresql_using="gin",
        postgresql_ops={"contact_name": "gin_trgm_ops"},
    )
    op.drop_index("ix_call_log_contact_name", table_name="call_log")
    op.drop_table("contact_names")
