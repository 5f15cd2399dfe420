"""Alembic migrations build the schema on SQLite and PostgreSQL and agree with the models."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from portail_admin import create_app
from portail_admin.extensions import db

from .conftest import base_vide


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_builds_the_models_schema(backend, tmp_path, request):
    url = base_vide(backend, tmp_path, request, "migrations")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"citoyens", "comptes_metier", "factures", "reglements", "demandes", "traitements", "agents"} <= tables
