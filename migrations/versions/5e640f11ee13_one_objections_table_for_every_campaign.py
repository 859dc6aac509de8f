"""one objections table for every campaign

The objections to a published result (公示) of votes (``vote_objections``) and of surveys
(``survey_objections``) move into one table, ``objections``, that names its vote or its survey
(exactly one: a check constraint). Rows are moved, vote objections first, then survey
objections, each in their old order; they get new ids (nothing refers to an objection by id
but the committee's resolve URL, taken from the list). The downgrade moves them back.

Revision ID: 5e640f11ee13
Revises: 0c557422a5ed
Create Date: 2026-12-05 16:24:03.900570

"""
from alembic import op
import sqlalchemy as sa

import participation.common.types


# revision identifiers, used by Alembic.
revision = '5e640f11ee13'
down_revision = '0c557422a5ed'
branch_labels = None
depends_on = None

FIELDS = "summary, recorded_by_id, recorded_at, resolution, resolved_by_id, resolved_at"
# The tables of before: (table, its campaign column, the campaigns' table).
OLD_TABLES = (("vote_objections", "vote_id", "votes"), ("survey_objections", "survey_id", "surveys"))


def upgrade():
    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', participation.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', participation.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(vote_id IS NULL) <> (survey_id IS NULL)', name=op.f('ck_objections_one_campaign')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f('fk_objections_recorded_by_id_staff_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['staff_users.id'], name=op.f('fk_objections_resolved_by_id_staff_users')),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_objections_survey_id_surveys')),
    sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_objections_vote_id_votes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections'))
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_survey_id'), ['survey_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_vote_id'), ['vote_id'], unique=False)

    for table, key, _ in OLD_TABLES:
        op.execute(
            f"INSERT INTO objections ({key}, {FIELDS}) "
            f"SELECT {key}, {FIELDS} FROM {table} ORDER BY id"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{key}'))
        op.drop_table(table)


def downgrade():
    for table, key, campaigns in OLD_TABLES:
        _create_old_table(table, key, campaigns)
        op.execute(
            f"INSERT INTO {table} ({key}, {FIELDS}) "
            f"SELECT {key}, {FIELDS} FROM objections WHERE {key} IS NOT NULL ORDER BY id"
        )

    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_vote_id'))
        batch_op.drop_index(batch_op.f('ix_objections_survey_id'))

    op.drop_table('objections')


def _create_old_table(table, key, campaigns):
    """``vote_objections`` or ``survey_objections`` as revision 8060ceae07be made them."""
    op.create_table(table,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column(key, sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', participation.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', participation.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f(f'fk_{table}_recorded_by_id_staff_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['staff_users.id'], name=op.f(f'fk_{table}_resolved_by_id_staff_users')),
    sa.ForeignKeyConstraint([key], [f'{campaigns}.id'], name=op.f(f'fk_{table}_{key}_{campaigns}')),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}'))
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{table}_{key}'), [key], unique=False)
