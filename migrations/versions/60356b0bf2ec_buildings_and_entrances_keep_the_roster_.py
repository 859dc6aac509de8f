"""buildings and entrances keep the roster's names

``buildings.name`` and ``entrances.name``: the name as the roster writes it ("5号楼"), shown
everywhere instead of one derived from the key (``number``), which stays the matching key.
Existing rows get the name that was derived until now ("5" → "5栋", "2" → "2单元", other keys
as they are, "" for a single-entrance building); then the columns become NOT NULL (on SQLite
NOT NULL from the start, with an empty default the backfill replaces: see ``upgrade``).

Revision ID: 60356b0bf2ec
Revises: 34954ceebbdc
Create Date: 2026-12-07 01:57:07.694653

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '60356b0bf2ec'
down_revision = '34954ceebbdc'
branch_labels = None
depends_on = None


# The names derived from the key until this revision (roster.models.building_name and
# entrance_name as they were), copied here so that the migration does not change with them.
SUFFIXES = {'buildings': '栋', 'entrances': '单元'}


def _derived(number: str, suffix: str) -> str:
    return (f"{number}{suffix}" if number.isdigit() else number)[:32]


def _backfill(table_name: str, named=None) -> None:
    """One UPDATE per distinct key (a compound has tens of them, every compound the same);
    rows whose name is NULL (or ``named``) are named."""
    table = sa.table(table_name, sa.column('number', sa.String), sa.column('name', sa.String))
    bind = op.get_bind()
    numbers = bind.execute(sa.select(table.c.number).distinct()).scalars().all()
    if not numbers:
        return
    bind.execute(
        table.update()
        .where(
            table.c.number == sa.bindparam('b_number'),
            table.c.name.is_(None) if named is None else table.c.name == named,
        )
        .values(name=sa.bindparam('b_name')),
        [
            {'b_number': number, 'b_name': _derived(number, SUFFIXES[table_name])}
            for number in numbers
        ],
    )


def upgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table_name in ('buildings', 'entrances'):
        if sqlite:
            # A plain ALTER TABLE … ADD COLUMN: a batch would recreate the table, and dropping
            # the old one under PRAGMA foreign_keys=ON fails on the rows that refer to it. So
            # SQLite needs a default for NOT NULL; every row is named just below.
            op.add_column(table_name, sa.Column('name', sa.String(length=32), nullable=False, server_default=''))
            _backfill(table_name, named=sa.literal(''))
        else:
            op.add_column(table_name, sa.Column('name', sa.String(length=32), nullable=True))
            _backfill(table_name)
            op.alter_column(table_name, 'name', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): no rebuild, as above.
    op.drop_column('entrances', 'name')
    op.drop_column('buildings', 'name')
