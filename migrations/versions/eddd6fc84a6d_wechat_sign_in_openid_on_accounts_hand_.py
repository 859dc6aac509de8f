"""WeChat sign-in: openid on accounts, hand-offs

``accounts.wechat_openid`` (unique index: one WeChat user binds one account; an index, not a
constraint, so SQLite adds it without rebuilding ``accounts``) and ``wechat_handoffs``, the
one-time sign-in codes and binding tickets a WeChat visit hands to the H5 (keyed hashes only).

Revision ID: eddd6fc84a6d
Revises: 150932695883
Create Date: 2026-12-06 21:22:04.581547

"""
from alembic import op
import sqlalchemy as sa

import participation.common.types


# revision identifiers, used by Alembic.
revision = 'eddd6fc84a6d'
down_revision = '150932695883'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('wechat_code_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('created_at', participation.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', participation.common.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', participation.common.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_wechat_handoffs_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_handoffs')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_wechat_handoffs_token_hash')),
    sa.UniqueConstraint('wechat_code_hash', name=op.f('uq_wechat_handoffs_wechat_code_hash'))
    )
    with op.batch_alter_table('wechat_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_handoffs_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_accounts_wechat_openid', ['wechat_openid'], unique=True)



def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_accounts_wechat_openid')
        batch_op.drop_column('wechat_openid')

    with op.batch_alter_table('wechat_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_handoffs_expires_at'))

    op.drop_table('wechat_handoffs')
