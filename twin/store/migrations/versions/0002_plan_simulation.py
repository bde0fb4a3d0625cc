"""Forecasts keep the plan's own simulated P50 and P80 (same runs and seed), to compare progress alone.

Revision ID: 0002
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add forecasts.plan_p50 and forecasts.plan_p80 (empty for forecasts made before)."""
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_p50', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('plan_p80', sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.drop_column('plan_p80')
        batch_op.drop_column('plan_p50')
