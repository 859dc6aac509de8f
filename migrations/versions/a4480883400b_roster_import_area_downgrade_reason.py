"""roster import: area downgrade reason

The committee's confirmation, with its reason, that an import may replace areas by ones of a
lower source (登记 > 实测 > 合同); kept on the import so that a queued one applies it too.

Revision ID: a4480883400b
Revises: 534a8b65b441
Create Date: 2026-12-06 20:02:07.827607

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4480883400b'
down_revision = '534a8b65b441'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_downgrade_reason', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_column('area_downgrade_reason')
