"""ledger

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# The database's own guard of the journal, independent of the application's checks:
# entries and legs are append-only, and an entry balances per currency with 2+ legs.
SQLITE_GUARDS = [
    *(
        f"""CREATE TRIGGER {table}_append_only_{action} BEFORE {action.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"""
        for table in ("journal_entries", "journal_legs")
        for action in ("update", "delete")
    ),
    # SQLite has no deferred triggers: legs go in first, and the entry header's insert
    # seals them, so the check runs when the entry is complete (at its "commit").
    """CREATE TRIGGER journal_legs_sealed BEFORE INSERT ON journal_legs
    WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id)
    BEGIN SELECT RAISE(ABORT, 'journal entry is sealed'); END""",
    """CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    WHEN (SELECT COUNT(*) FROM journal_legs WHERE entry_id = NEW.id) < 2
      OR EXISTS (SELECT 1 FROM journal_legs WHERE entry_id = NEW.id GROUP BY currency
                 HAVING SUM(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0)
    BEGIN SELECT RAISE(ABORT, 'journal entry does not balance'); END""",
]
POSTGRES_GUARDS = [
    """CREATE FUNCTION remit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% are append-only', TG_TABLE_NAME; END $$""",
    *(
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION remit_append_only()"""
        for table in ("journal_entries", "journal_legs")
    ),
    """CREATE FUNCTION remit_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'journal legs of % have no entry', NEW.entry_id;
      END IF;
      IF (SELECT COUNT(*) FROM journal_legs WHERE entry_id = NEW.entry_id) < 2
         OR EXISTS (SELECT 1 FROM journal_legs WHERE entry_id = NEW.entry_id GROUP BY currency
                    HAVING SUM(CASE side WHEN 'D' THEN amount ELSE -amount END) <> 0) THEN
        RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id;
      END IF;
      RETURN NULL;
    END $$""",
    # Checked at commit, once the whole entry is in.
    """CREATE CONSTRAINT TRIGGER journal_legs_balanced AFTER INSERT ON journal_legs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION remit_entry_balanced()""",
    # An entry header needs its legs by commit time too (an entry without legs is no entry).
    """CREATE FUNCTION remit_entry_has_legs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT COUNT(*) FROM journal_legs WHERE entry_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two legs', NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER journal_entries_have_legs AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION remit_entry_has_legs()""",
    # Legs go in before their header; once the header exists the entry is sealed.
    """CREATE FUNCTION remit_entry_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'journal entry % is sealed', NEW.entry_id;
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER journal_legs_sealed BEFORE INSERT ON journal_legs
    FOR EACH ROW EXECUTE FUNCTION remit_entry_sealed()""",
]
DROP_GUARDS = {
    "sqlite": [
        *(
            f"DROP TRIGGER IF EXISTS {t}_append_only_{a}"
            for t in ("journal_entries", "journal_legs")
            for a in ("update", "delete")
        ),
        "DROP TRIGGER IF EXISTS journal_legs_sealed",
        "DROP TRIGGER IF EXISTS journal_entries_balanced",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS journal_legs_sealed ON journal_legs",
        "DROP TRIGGER IF EXISTS journal_entries_have_legs ON journal_entries",
        "DROP FUNCTION IF EXISTS remit_entry_sealed()",
        "DROP FUNCTION IF EXISTS remit_entry_has_legs()",
        "DROP TRIGGER IF EXISTS journal_legs_balanced ON journal_legs",
        "DROP TRIGGER IF EXISTS journal_legs_append_only ON journal_legs",
        "DROP TRIGGER IF EXISTS journal_entries_append_only ON journal_entries",
        "DROP FUNCTION IF EXISTS remit_entry_balanced()",
        "DROP FUNCTION IF EXISTS remit_append_only()",
    ],
}


def upgrade() -> None:
    op.create_table(
        "journal_entries",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("cause_id", sa.String(length=120), nullable=False),
        sa.Column("subject_id", sa.String(length=120), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("effective_at", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "pending_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "reverses",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint(
            "account_id",
            "rule",
            "cause_id",
            name=op.f("uq_journal_entries_account_id_rule_cause_id"),
        ),
        sa.UniqueConstraint("account_id", "seq", name=op.f("uq_journal_entries_account_id_seq")),
        sa.UniqueConstraint("pending_id", name=op.f("uq_journal_entries_pending_id")),
        sa.UniqueConstraint("reverses", name=op.f("uq_journal_entries_reverses")),
        info={"immutable": True},
    )
    op.create_table(
        "ledger_accounts",
        sa.Column(
            "id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("limit_rule", sa.String(length=40), nullable=True),
        sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "limit_rule IS NULL OR limit_rule <> 'credits_must_not_exceed_debits' OR credits_posted + credits_pending <= debits_posted",
            name=op.f("ck_ledger_accounts_credits_within_debits"),
        ),
        sa.CheckConstraint(
            "limit_rule IS NULL OR limit_rule <> 'debits_must_not_exceed_credits' OR debits_posted + debits_pending <= credits_posted",
            name=op.f("ck_ledger_accounts_debits_within_credits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "account_id",
            "code",
            "currency",
            name=op.f("uq_ledger_accounts_account_id_code_currency"),
        ),
    )
    op.create_table(
        "ledger_heads",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_heads")),
    )
    op.create_table(
        "journal_legs",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "entry_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("leg_no", sa.SmallInteger(), nullable=False),
        sa.Column(
            "ledger_account_id",
            sa.String(length=40).with_variant(sa.VARCHAR(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("side IN ('D', 'C')", name=op.f("ck_journal_legs_debit_or_credit")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_journal_legs_positive_amount")),
        sa.ForeignKeyConstraint(
            ["ledger_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_journal_legs_ledger_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("entry_id", "leg_no", name=op.f("pk_journal_legs")),
        info={"immutable": True},
    )
    with op.batch_alter_table("journal_legs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_legs_ledger_account_id_entry_id"),
            ["ledger_account_id", "entry_id"],
            unique=False,
        )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_entries_account_id_subject_id"),
            ["account_id", "subject_id"],
            unique=False,
        )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_GUARDS if dialect == "postgresql" else SQLITE_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_GUARDS[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("journal_legs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_legs_ledger_account_id_entry_id"))

    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_account_id_subject_id"))
    op.drop_table("journal_legs")
    op.drop_table("ledger_heads")
    op.drop_table("ledger_accounts")
    op.drop_table("journal_entries")
