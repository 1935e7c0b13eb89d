"""team mode: procrastinate 3.10.0's job tables, on PostgreSQL only

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:10:00

The team-mode workers (bots.workers) queue their jobs in the ledger's own PostgreSQL through
procrastinate, which ships no migrator of its own outside Django. Its schema is applied here, from the
copy of procrastinate 3.10.0's `sql/schema.sql` kept next to the migrations (pinned: pyproject.toml
says `procrastinate==3.10.0`, and tests/claims/ledger/test_migrations.py checks the copy is the
installed version's). A later procrastinate is taken with a new migration that runs its
`sql/migrations/*.sql` files between the two versions, in order.

SQLite (the embedded default) has no job queue: nothing to do there.
"""

from pathlib import Path

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PROCRASTINATE_VERSION = "3.10.0"
SCHEMA = Path(__file__).resolve().parents[1] / "procrastinate" / f"schema-{PROCRASTINATE_VERSION}.sql"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    """Plain SQL through the DB-API cursor, in Alembic's transaction: no bind-parameter parsing of
    the functions' bodies (they hold `%` and `:`)."""
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    if not _postgres():
        return
    exists = op.get_bind().exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists is None:  # schema.sql is not idempotent: a database that already has it keeps it
        _run(SCHEMA.read_text("utf-8"))


def downgrade() -> None:
    if not _postgres():
        return
    _run(
        """
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
            procrastinate_workers CASCADE;
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
        """
    )
