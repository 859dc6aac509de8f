"""objection period minimum per district

A district's shortest objection period (``districts.min_objection_days``, default 3); votes'
and surveys' ``objection_days`` of 0 (which skipped 询异) are raised to their district's
minimum, and the database refuses 0 from now on.

On SQLite the check constraints are left out: adding or changing one recreates the table
(copy, drop, rename), and dropping ``votes`` or ``districts`` under ``PRAGMA foreign_keys=ON``
fails on the rows that refer to them. The services refuse too short a period on every
backend (422 ``objection_days_too_short``).

Revision ID: 150932695883
Revises: a4480883400b
Create Date: 2026-12-06 20:00:33.855493

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '150932695883'
down_revision = 'a4480883400b'
branch_labels = None
depends_on = None

DISTRICT_MINIMUM = """
    SELECT districts.min_objection_days
    FROM compounds
    JOIN communities ON communities.id = compounds.community_id
    JOIN streets ON streets.id = communities.street_id
    JOIN districts ON districts.id = streets.district_id
    WHERE compounds.id = {table}.compound_id
"""


def _with_checks() -> bool:
    return op.get_bind().dialect.name != 'sqlite'


def upgrade():
    # A plain ALTER TABLE … ADD COLUMN on every backend (a batch would recreate it on SQLite).
    op.add_column('districts', sa.Column('min_objection_days', sa.Integer(), server_default=sa.text('3'), nullable=False))

    for table in ('votes', 'surveys'):
        op.execute(
            f"UPDATE {table} SET objection_days = ({DISTRICT_MINIMUM.format(table=table)}) "
            "WHERE objection_days < 1"
        )

    if not _with_checks():
        return
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.create_check_constraint('min_objection_days_positive', 'min_objection_days >= 1')

    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_votes_objection_days_nonnegative'), type_='check')
        batch_op.create_check_constraint('objection_days_positive', 'objection_days >= 1')

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_check_constraint('objection_days_positive', 'objection_days >= 1')


def downgrade():
    if _with_checks():
        with op.batch_alter_table('surveys', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_surveys_objection_days_positive'), type_='check')

        with op.batch_alter_table('votes', schema=None) as batch_op:
            batch_op.drop_constraint(op.f('ck_votes_objection_days_positive'), type_='check')
            batch_op.create_check_constraint('objection_days_nonnegative', 'objection_days >= 0')

        with op.batch_alter_table('districts', schema=None) as batch_op:
            batch_op.drop_constraint(
                op.f('ck_districts_min_objection_days_positive'), type_='check'
            )

    op.drop_column('districts', 'min_objection_days')
