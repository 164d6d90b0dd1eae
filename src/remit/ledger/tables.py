"""The ledger's tables. Journal entries and legs are append-only; the database refuses
updates and deletes (see the migration's triggers)."""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

IMMUTABLE = {"immutable": True}

ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    id_column(),
    account_column(),
    sa.Column("code", sa.String(80), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("normal_side", sa.String(6), nullable=False),
    sa.Column("limit_rule", sa.String(40), nullable=True),
    sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
    # Running totals, a cache of the legs that `remit ledger verify` re-derives.
    sa.Column("debits_posted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_posted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("debits_pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_pending", sa.BigInteger, nullable=False, server_default="0"),
    ts_column("created"),
    sa.UniqueConstraint("account_id", "code", "currency"),
    # Limits are enforced by the database too, whatever path wrote the totals.
    sa.CheckConstraint(
        "limit_rule IS NULL OR limit_rule <> 'debits_must_not_exceed_credits' "
        "OR debits_posted + debits_pending <= credits_posted",
        name="debits_within_credits",
    ),
    sa.CheckConstraint(
        "limit_rule IS NULL OR limit_rule <> 'credits_must_not_exceed_debits' "
        "OR credits_posted + credits_pending <= debits_posted",
        name="credits_within_debits",
    ),
)

# One row per tenant: the head of its hash chain, locked by every posting transaction.
ledger_heads = sa.Table(
    "ledger_heads",
    metadata,
    sa.Column("account_id", sa.String(40), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    id_column(),
    account_column(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("rule", sa.String(80), nullable=False),
    sa.Column("cause_id", sa.String(120), nullable=False),
    sa.Column("subject_id", sa.String(120), nullable=True),
    sa.Column("event_id", sa.String(40), nullable=True),
    sa.Column("description", sa.String(500), nullable=True),
    ts_column("effective_at"),
    ts_column("posted_at"),
    ts_column("expires_at", nullable=True),
    sa.Column("pending_id", id_type(), nullable=True),
    sa.Column("reverses", id_type(), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("account_id", "seq"),
    # One cause is posted once by a rule: a retried or duplicated call cannot post twice.
    sa.UniqueConstraint("account_id", "rule", "cause_id"),
    # A pending entry is resolved (posted, voided or expired) at most once.
    sa.UniqueConstraint("pending_id"),
    # An entry is reversed at most once, whatever rule or cause the correction names.
    sa.UniqueConstraint("reverses"),
    sa.Index(None, "account_id", "subject_id"),
    info=IMMUTABLE,
)

journal_legs = sa.Table(
    "journal_legs",
    metadata,
    account_column(),
    sa.Column("entry_id", id_type(), nullable=False),
    sa.Column("leg_no", sa.SmallInteger, nullable=False),
    sa.Column("ledger_account_id", id_type(), sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("side", sa.String(1), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.PrimaryKeyConstraint("entry_id", "leg_no"),
    sa.CheckConstraint("amount > 0", name="positive_amount"),
    sa.CheckConstraint("side IN ('D', 'C')", name="debit_or_credit"),
    sa.Index(None, "ledger_account_id", "entry_id"),
    info=IMMUTABLE,
)
