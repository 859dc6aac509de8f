"""tally and sealing without scanning the record

Ballots carry their person's area and entrance, persons their single entrance, and the
electorate per entrance is frozen (``vote_entrances``), so the tally reads ``vote_ballots``
alone. Events waiting to be sealed are queued in ``vote_unsealed``. Existing rows are filled
in from the record.

Revision ID: d7506e5b931e
Revises: 8060ceae07be
Create Date: 2026-12-01 20:12:02.279780

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7506e5b931e'
down_revision = '8060ceae07be'
branch_labels = None
depends_on = None

BACKFILL = [
    # A person's entrance: the one entrance of all their dwellings in scope.
    """UPDATE vote_persons SET entrance_id = (
           SELECT min(d.entrance_id) FROM vote_person_dwellings d WHERE d.person_id = vote_persons.id
       )
       WHERE (SELECT count(DISTINCT d.entrance_id) FROM vote_person_dwellings d
              WHERE d.person_id = vote_persons.id) = 1""",
    """INSERT INTO vote_entrances (vote_id, entrance_id, building_id, t_cnt, t_area)
       SELECT p.vote_id, p.entrance_id, e.building_id, count(*), sum(p.area)
       FROM vote_persons p JOIN entrances e ON e.id = p.entrance_id
       GROUP BY p.vote_id, p.entrance_id, e.building_id""",
    """UPDATE vote_ballots SET
           area = (SELECT p.area FROM vote_persons p WHERE p.id = vote_ballots.person_id),
           entrance_id = (SELECT p.entrance_id FROM vote_persons p
                          WHERE p.id = vote_ballots.person_id)""",
    """INSERT INTO vote_unsealed (event_id, vote_id)
       SELECT e.id, e.vote_id FROM vote_events e
       WHERE NOT EXISTS (SELECT 1 FROM vote_chain c WHERE c.event_id = e.id)""",
]


def upgrade():
    op.create_table('vote_entrances',
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('entrance_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('t_cnt', sa.Integer(), nullable=False),
    sa.Column('t_area', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_vote_entrances_building_id_buildings')),
    sa.ForeignKeyConstraint(['entrance_id'], ['entrances.id'], name=op.f('fk_vote_entrances_entrance_id_entrances')),
    sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_vote_entrances_vote_id_votes')),
    sa.PrimaryKeyConstraint('vote_id', 'entrance_id', name=op.f('pk_vote_entrances'))
    )
    op.create_table('vote_unsealed',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['vote_events.id'], name=op.f('fk_vote_unsealed_event_id_vote_events')),
    sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_vote_unsealed_vote_id_votes')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_vote_unsealed'))
    )
    with op.batch_alter_table('vote_unsealed', schema=None) as batch_op:
        batch_op.create_index('ix_vote_unsealed_vote', ['vote_id', 'event_id'], unique=False)

    with op.batch_alter_table('vote_ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('entrance_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_vote_ballots_entrance_id_entrances'), 'entrances', ['entrance_id'], ['id'])

    # Not in batch mode: on SQLite a batch would rebuild vote_persons, and dropping the old
    # table fails the foreign keys of its dwellings, owners and ballots. SQLite's ADD COLUMN
    # with the constraint inline needs no rebuild.
    if op.get_context().dialect.name == 'sqlite':
        op.execute('ALTER TABLE vote_persons ADD COLUMN entrance_id INTEGER CONSTRAINT fk_vote_persons_entrance_id_entrances REFERENCES entrances (id)')
    else:
        op.add_column('vote_persons', sa.Column('entrance_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_vote_persons_entrance_id_entrances'), 'vote_persons', 'entrances', ['entrance_id'], ['id'])
    op.create_index('ix_vote_persons_spanning', 'vote_persons', ['vote_id'], unique=False, sqlite_where=sa.text('entrance_id IS NULL'), postgresql_where=sa.text('entrance_id IS NULL'))

    for statement in BACKFILL:
        op.execute(statement)
    with op.batch_alter_table('vote_ballots', schema=None) as batch_op:
        batch_op.alter_column('area', existing_type=sa.Numeric(precision=12, scale=2), nullable=False)


def downgrade():
    op.drop_index('ix_vote_persons_spanning', 'vote_persons', sqlite_where=sa.text('entrance_id IS NULL'), postgresql_where=sa.text('entrance_id IS NULL'))
    with op.batch_alter_table('vote_persons', schema=None) as batch_op:
        if op.get_context().dialect.name != 'sqlite':  # SQLite: the rebuild drops it
            batch_op.drop_constraint(batch_op.f('fk_vote_persons_entrance_id_entrances'), type_='foreignkey')
        batch_op.drop_column('entrance_id')

    with op.batch_alter_table('vote_ballots', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_vote_ballots_entrance_id_entrances'), type_='foreignkey')
        batch_op.drop_column('entrance_id')
        batch_op.drop_column('area')

    with op.batch_alter_table('vote_unsealed', schema=None) as batch_op:
        batch_op.drop_index('ix_vote_unsealed_vote')

    op.drop_table('vote_unsealed')
    op.drop_table('vote_entrances')
