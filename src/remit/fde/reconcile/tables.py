"""Reconciliation runs, what they found, and the repair plans a human approves."""

import sqlalchemy as sa

from remit.store.schema import account_column, id_column, id_type, metadata, ts_column

reconciliation_runs = sa.Table(
    "reconciliation_runs",
    metadata,
    id_column(),  # recrun_
    account_column(),
    sa.Column("mode", sa.String(12), nullable=False),  # transaction, state
    sa.Column("status", sa.String(12), nullable=False),  # succeeded, failed
    sa.Column("rules_name", sa.String(200), nullable=False),
    sa.Column("rules_version", sa.Integer, nullable=False),
    sa.Column("rules_digest", sa.String(64), nullable=False),
    sa.Column("rules_text", sa.Text, nullable=False),  # what reproduces the run
    # {"spec": "...", "kind", "rows", "rejected", "fingerprint"} per side
    sa.Column("left_source", sa.JSON, nullable=False),
    sa.Column("right_source", sa.JSON, nullable=False),
    ts_column("cutoff_ts", nullable=True),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("results_digest", sa.String(64), nullable=False),  # sha256 of matches + breaks
    sa.Column("failure", sa.JSON, nullable=True),  # the error, when status is failed
    ts_column("created"),
    sa.Index(None, "account_id", "id"),
)

reconciliation_matches = sa.Table(
    "reconciliation_matches",
    metadata,
    account_column(),
    sa.Column("run_id", id_type(), nullable=False),
    sa.Column("match_no", sa.BigInteger, nullable=False),  # stable within the run
    sa.Column("pass_name", sa.String(100), nullable=False),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("left_ids", sa.JSON, nullable=False),  # sorted
    sa.Column("right_ids", sa.JSON, nullable=False),
    sa.Column("left_amount", sa.BigInteger, nullable=True),
    sa.Column("right_amount", sa.BigInteger, nullable=True),
    sa.Column("alternatives", sa.Integer, nullable=False),  # equally good candidates passed over
    sa.PrimaryKeyConstraint("run_id", "match_no"),
)

reconciliation_breaks = sa.Table(
    "reconciliation_breaks",
    metadata,
    id_column(),  # recbrk_
    account_column(),
    sa.Column("run_id", id_type(), nullable=False),
    # The same discrepancy found by two runs has the same key: what run diffs compare.
    sa.Column("break_key", sa.String(1000), nullable=False),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("left_ids", sa.JSON, nullable=False),
    sa.Column("right_ids", sa.JSON, nullable=False),
    sa.Column("left_amount", sa.BigInteger, nullable=True),
    sa.Column("right_amount", sa.BigInteger, nullable=True),
    sa.Column("left_line", sa.BigInteger, nullable=True),
    sa.Column("right_line", sa.BigInteger, nullable=True),
    sa.Column("object_id", sa.String(255), nullable=True),  # state mode: the platform object
    sa.Column("field", sa.String(200), nullable=True),
    sa.Column("platform_value", sa.Text, nullable=True),
    sa.Column("external_value", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "run_id", "id"),
    sa.Index(None, "run_id", "type", "id"),
    sa.Index(None, "run_id", "break_key"),
)

reconciliation_rejects = sa.Table(
    "reconciliation_rejects",
    metadata,
    account_column(),
    sa.Column("run_id", id_type(), nullable=False),
    sa.Column("side", sa.String(5), nullable=False),
    sa.Column("line_no", sa.BigInteger, nullable=False),
    sa.Column("field", sa.String(200), nullable=False),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("code", sa.String(60), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "side", "line_no", "field"),
)

reconciliation_repair_plans = sa.Table(
    "reconciliation_repair_plans",
    metadata,
    id_column(),  # recplan_
    account_column(),
    sa.Column("run_id", id_type(), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # proposed, approved, applied
    sa.Column("actions", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # sha256 of the actions approved
    sa.Column("approval_token_hash", sa.String(64), nullable=True),
    sa.Column("approved_by", sa.String(200), nullable=True),
    ts_column("approved_at", nullable=True),
    ts_column("applied_at", nullable=True),
    ts_column("created"),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "run_id"),
)

reconciliation_audit = sa.Table(
    "reconciliation_audit",
    metadata,
    id_column(),  # recaud_
    account_column(),
    sa.Column("plan_id", id_type(), nullable=False),
    sa.Column("action_no", sa.Integer, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("object_id", sa.String(255), nullable=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),  # ids the action made (event, credit note)
    sa.Column("approved_by", sa.String(200), nullable=False),
    sa.Column("token_fingerprint", sa.String(16), nullable=False),
    ts_column("applied_at"),
    sa.UniqueConstraint("plan_id", "action_no"),
    sa.Index(None, "account_id", "plan_id"),
)
