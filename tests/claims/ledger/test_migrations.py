"""Alembic migrations create exactly the schema the code uses, on both engines."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from claims.ledger import Ledger, is_current, upgrade
from claims.ledger.schema import metadata


def test_migrations_match_the_schema(ledger_url: str) -> None:
    upgrade(ledger_url)
    engine = sa.create_engine(ledger_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert is_current(engine)
    engine.dispose()


def test_upgrade_twice_is_harmless_and_sqlite_uses_wal(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/ledger.sqlite3"
    upgrade(url)
    upgrade(url)
    ledger = Ledger.connect(url)
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    ledger.close()


def test_a_new_ledger_is_not_current(tmp_path: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/empty.sqlite3")
    assert not is_current(engine)
    engine.dispose()
