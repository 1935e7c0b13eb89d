"""Alembic migrations create exactly the schema the code uses, on both engines."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from claims.ledger import Ledger, is_current, upgrade
from claims.ledger.migrate import alembic_config, head_revision
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


def test_0003_ranks_existing_checks_by_when_they_were_observed(ledger: Ledger, ledger_url: str) -> None:
    """A ledger with answers from before 0003 upgrades in place: status_at is their checked_at."""
    from datetime import UTC, datetime

    from alembic import command

    from claims.ledger.migrate import alembic_config
    from claims.status import ClaimStatus
    from tests.factories import make_claim

    with ledger.writer() as writer:
        writer.upsert_claims([make_claim("M1")])
    command.downgrade(alembic_config(ledger_url), "0002")
    with ledger.engine.begin() as conn:  # an answer recorded the 0002 way
        conn.execute(
            sa.text(
                "INSERT INTO status_checks (claim_pk, checked_at, source, status) "
                "VALUES ((SELECT id FROM claims WHERE claim_id = 'M1'), :at, 'portal', 'paid')"
            ),
            {"at": datetime(2026, 10, 1, 9, 0)},
        )
    assert not is_current(ledger.engine)
    upgrade(ledger_url)
    assert is_current(ledger.engine)
    [check] = ledger.history("M1")
    assert (check.checked_at, check.effective_at) == (datetime(2026, 10, 1, 9, 0, tzinfo=UTC), None)
    assert ledger.current_status("M1") is ClaimStatus.PAID


def test_the_quick_schema_check_agrees_with_alembic(ledger_url: str) -> None:
    """`is_current` reads the version table and the migration files without Alembic: same answer."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config(ledger_url)).get_current_head()
    engine = sa.create_engine(ledger_url)
    try:
        assert not is_current(engine)
        upgrade(ledger_url, "0002")
        assert not is_current(engine)
        upgrade(ledger_url)
        assert is_current(engine)
    finally:
        engine.dispose()
