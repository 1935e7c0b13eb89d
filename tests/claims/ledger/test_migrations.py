"""Alembic migrations create exactly the schema the code uses, on both engines."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import claims.ledger.alert_schema  # registers the alert tables on the metadata
import claims.ledger.assistant_schema  # noqa: F401  (registers the assignments table on the metadata)
from claims.ledger import Ledger, is_current, upgrade
from claims.ledger.migrate import alembic_config, head_revision
from claims.ledger.schema import metadata


def not_procrastinates(name: str | None, type_: str, parent_names: object) -> bool:
    """procrastinate's own tables (migration 0006, PostgreSQL only) are not ours to declare: the
    team-mode job queue owns them and its pinned schema.sql defines them, so the ledger's metadata
    leaves them out and the comparison does too."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def test_migrations_match_the_schema(ledger_url: str) -> None:
    upgrade(ledger_url)
    engine = sa.create_engine(ledger_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": not_procrastinates})
        assert compare_metadata(context, metadata) == []
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


def test_the_job_queue_schema_is_procrastinates_pinned_one() -> None:
    """0006 applies a copy of procrastinate's schema.sql: the copy is the installed version's, so a
    version bump without its own migration fails here."""
    from importlib.metadata import version
    from importlib.resources import files

    from claims.ledger.migrate import MIGRATIONS

    assert version("procrastinate") == "3.10.0"
    installed = files("procrastinate").joinpath("sql/schema.sql").read_text("utf-8")
    assert (MIGRATIONS / "procrastinate" / "schema-3.10.0.sql").read_text("utf-8") == installed


def test_the_job_queue_tables_exist_on_postgresql_only(ledger_url: str) -> None:
    """PostgreSQL gets procrastinate's tables (and loses them on downgrade); SQLite never has them."""
    from alembic import command

    upgrade(ledger_url)
    engine = sa.create_engine(ledger_url)
    postgres = engine.dialect.name == "postgresql"
    tables = {"procrastinate_jobs", "procrastinate_workers", "procrastinate_events", "procrastinate_periodic_defers"}
    try:
        assert (tables <= set(sa.inspect(engine).get_table_names())) is postgres
        command.downgrade(alembic_config(ledger_url), "0005")
        assert not tables & set(sa.inspect(engine).get_table_names())
        if postgres:
            with engine.connect() as conn:
                left = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%' "
                        "UNION ALL SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%'"
                    )
                ).scalars()
                assert list(left) == [0, 0]
        upgrade(ledger_url)
        assert (tables <= set(sa.inspect(engine).get_table_names())) is postgres
        assert is_current(engine)
    finally:
        engine.dispose()
