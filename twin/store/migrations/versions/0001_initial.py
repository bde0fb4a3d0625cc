"""Initial schema of the twin store: projects, scenarios, imports, progress, forecasts.

Revision ID: 0001
Revises: 

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=1000), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_scenarios_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
    sa.UniqueConstraint('key', name=op.f('uq_scenarios_key'))
    )
    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('data_date', sa.DateTime(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_imports_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
    sa.UniqueConstraint('scenario_id', 'content_hash', name='uq_imports_scenario_hash')
    )
    op.create_table('forecasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('data_date', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('p10', sa.DateTime(), nullable=False),
    sa.Column('p50', sa.DateTime(), nullable=False),
    sa.Column('p80', sa.DateTime(), nullable=False),
    sa.Column('p90', sa.DateTime(), nullable=False),
    sa.Column('mean', sa.DateTime(), nullable=False),
    sa.Column('cpm_finish', sa.DateTime(), nullable=False),
    sa.Column('plan_finish', sa.DateTime(), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('deterministic', sa.Boolean(), nullable=False),
    sa.Column('spi', sa.Float(), nullable=True),
    sa.Column('factors', sa.JSON(), nullable=False),
    sa.Column('lights', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_forecasts_import_id_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'], name=op.f('fk_forecasts_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecasts'))
    )
    op.create_index('ix_forecasts_scenario_date', 'forecasts', ['scenario_id', 'data_date'], unique=False)
    op.create_table('progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.String(length=200), nullable=False),
    sa.Column('global_id', sa.String(length=64), nullable=False),
    sa.Column('actual_start', sa.DateTime(), nullable=True),
    sa.Column('actual_finish', sa.DateTime(), nullable=True),
    sa.Column('percent_complete', sa.Float(), nullable=True),
    sa.Column('remaining_h', sa.Float(), nullable=True),
    sa.Column('reported_by', sa.String(length=200), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=True),
    sa.Column('row', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_progress_import_id_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress')),
    sa.UniqueConstraint('import_id', 'activity_id', 'global_id', name='uq_progress_import_activity_element')
    )
    op.create_index('ix_progress_activity', 'progress', ['activity_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_progress_activity', table_name='progress')
    op.drop_table('progress')
    op.drop_index('ix_forecasts_scenario_date', table_name='forecasts')
    op.drop_table('forecasts')
    op.drop_table('imports')
    op.drop_table('scenarios')
    op.drop_table('projects')
