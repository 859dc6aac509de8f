"""Paging SQLAlchemy ``Select`` statements with flask-smorest's ``@blp.paginate(SelectPage)``.

Totals go to the ``X-Pagination`` header; ``page_size`` is capped at 100.
"""

from __future__ import annotations

from flask_smorest import Page
from sqlalchemy import func, select

from participation.extensions import db


class SelectPage(Page):
    @property
    def items(self):
        params = self.page_params
        stmt = self.collection.limit(params.page_size).offset(params.first_item)
        return list(db.session.scalars(stmt))

    @property
    def item_count(self):
        count = select(func.count()).select_from(self.collection.order_by(None).subquery())
        return db.session.scalar(count)


class RowsPage(SelectPage):
    """``SelectPage`` for a statement of several columns: the page's rows, not their first
    column."""

    @property
    def items(self):
        params = self.page_params
        stmt = self.collection.limit(params.page_size).offset(params.first_item)
        return list(db.session.execute(stmt))
