"""Revenue recognition's tables: what each invoice booked, its performance obligations,
what was recognized per obligation and day, refunds' and credit notes' shares, and how
far each tenant's recognition has run.

``revrec_obligations`` and ``revrec_recognitions`` are a contract with the revenue
reports: their column names stay. ``revrec_recognitions`` mirrors every movement revenue
recognition makes on the ``revenue`` account: + at booking (a line without a service
period), + per day (or caught up), - when the invoice is voided.
"""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

# One row per booked invoice: what the finalization entry debited, so a void can undo it.
revrec_invoices = sa.Table(
    "revrec_invoices",
    metadata,
    account_column(),
    sa.Column("invoice_id", sa.String(120), nullable=False),
    sa.Column("customer_id", sa.String(120), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    ts_column("booked_at"),
    sa.Column("amount_due", sa.BigInteger, nullable=False),
    sa.Column("credit_applied", sa.BigInteger, nullable=False),
    sa.Column("revenue", sa.BigInteger, nullable=False),  # net of discounts, before tax
    sa.Column("reduced", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),  # booked | voided
    sa.Column("entry_id", id_type(), nullable=True),  # none when every amount was zero
    sa.Column("void_entry_id", id_type(), nullable=True),
    ts_column("voided_at", nullable=True),
    ts_column("created"),
    sa.PrimaryKeyConstraint("account_id", "invoice_id"),
)

revrec_invoice_taxes = sa.Table(
    "revrec_invoice_taxes",
    metadata,
    account_column(),
    sa.Column("invoice_id", sa.String(120), nullable=False),
    sa.Column("jurisdiction", sa.String(40), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("reduced", sa.BigInteger, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("account_id", "invoice_id", "jurisdiction"),
)

# One row per invoice line: a performance obligation (Stripe's unit of recognition).
revrec_obligations = sa.Table(
    "revrec_obligations",
    metadata,
    id_column(),
    account_column(),
    sa.Column("source_id", sa.String(120), nullable=False),  # the invoice line
    sa.Column("invoice_id", sa.String(120), nullable=False),
    sa.Column("customer_id", sa.String(120), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),  # net of discounts, before tax
    ts_column("booked_at"),
    ts_column("period_start", nullable=True),
    ts_column("period_end", nullable=True),
    sa.Column("start_day", sa.Integer, nullable=False),
    sa.Column("end_day", sa.Integer, nullable=False),  # exclusive
    sa.Column("deferred", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active | complete | voided
    sa.Column("recognized", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("contra", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("released", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("adjustments", sa.Integer, nullable=False, server_default="0"),
    ts_column("created"),
    sa.UniqueConstraint("account_id", "invoice_id", "source_id"),
    sa.Index(None, "account_id", "status", "start_day"),
)

# Per obligation and day: what was recognized, and by which journal entry. ``booked_at``
# is the obligation's booking time (reports group by booking month). ``entry_id`` is
# empty only when a day's amounts in a currency netted to zero, so nothing was posted.
revrec_recognitions = sa.Table(
    "revrec_recognitions",
    metadata,
    account_column(),
    sa.Column("obligation_id", id_type(), nullable=False),
    sa.Column("invoice_id", sa.String(120), nullable=False),
    ts_column("booked_at"),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("day", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # booking | daily | catch_up | void
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("entry_id", id_type(), nullable=True),
    ts_column("created"),
    sa.PrimaryKeyConstraint("obligation_id", "kind", "day"),
    sa.Index(None, "account_id", "day"),
)

# A refund's or credit note's share of one obligation, and the segment it re-plans; a
# voided credit note's undoing (kind credit_note_void, source ``cn_...:void``) is one too,
# with the note's amounts negated.
revrec_adjustments = sa.Table(
    "revrec_adjustments",
    metadata,
    account_column(),
    sa.Column("obligation_id", id_type(), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("source_id", sa.String(120), nullable=False),  # re_... or cn_...
    sa.Column("kind", sa.String(16), nullable=False),  # refund | credit_note | credit_note_void
    sa.Column("invoice_id", sa.String(120), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    ts_column("effective_at"),
    sa.Column("share", sa.BigInteger, nullable=False),
    sa.Column("contra", sa.BigInteger, nullable=False),
    sa.Column("release", sa.BigInteger, nullable=False),
    sa.Column("segment_start_day", sa.Integer, nullable=False),
    sa.Column("segment_anchor", sa.BigInteger, nullable=False),
    sa.Column("segment_total", sa.BigInteger, nullable=False),
    sa.Column("entry_id", id_type(), nullable=False),
    ts_column("created"),
    sa.PrimaryKeyConstraint("obligation_id", "seq"),
    sa.UniqueConstraint("account_id", "source_id", "obligation_id"),
)

# How far each tenant's recognition has run; its row is also the tenant's revrec lock.
revrec_progress = sa.Table(
    "revrec_progress",
    metadata,
    sa.Column("account_id", sa.String(40), primary_key=True),
    sa.Column("through_day", sa.Integer, nullable=True),
    ts_column("updated_at"),
)
