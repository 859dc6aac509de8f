"""rolling rate limits

Rate limits count hits over a rolling span instead of fixed windows: ``rate_logs`` keeps, per
key, the times of the latest accepted hits and replaces ``rate_counters``. The counters are
dropped, not converted (a count in a window has no times), so the hits of the last hour are
forgotten once, at the upgrade.

Revision ID: 0c557422a5ed
Revises: d7506e5b931e
Create Date: 2026-12-02 06:45:58.122341

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c557422a5ed'
down_revision = 'd7506e5b931e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_logs',
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('hits', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_logs'))
    )
    op.drop_table('rate_counters')


def downgrade():
    op.create_table('rate_counters',
    sa.Column('key', sa.VARCHAR(length=96), nullable=False),
    sa.Column('window', sa.INTEGER(), nullable=False),
    sa.Column('count', sa.INTEGER(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window', name=op.f('pk_rate_counters'))
    )
    op.drop_table('rate_logs')
