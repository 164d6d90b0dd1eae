"""The reports' SQL, run by DuckDB over the tables ``source.session`` loads.

A narrow, portable subset on purpose (SELECT, JOIN, GROUP BY, CASE, COALESCE, SUM,
MIN, windowed SUM, UNION ALL, CTEs, SUBSTR), so the same text can later run on a
distributed engine. Money is only ever summed and subtracted as integers: no
division, AVG, ROUND, DECIMAL or DOUBLE. Calendar columns (``day``, ``month``) come
precomputed; ``$name`` parameters are bound by DuckDB.

Signs: ``debit``/``credit`` are non-negative leg amounts; a balance "by normal side"
is debits minus credits on debit-normal accounts and the reverse on credit-normal ones.
"""

from __future__ import annotations

MOVES_VIEW = """
CREATE VIEW moves AS
SELECT l.entry_id, l.seq, l.rule, l.cause_id, l.subject_id, l.description, l.effective_at,
       l.day, l.month, l.leg_no, l.code, l.currency, a.name, a.type, a.normal_side,
       CASE WHEN l.side = 'D' THEN l.amount ELSE 0 END AS debit,
       CASE WHEN l.side = 'C' THEN l.amount ELSE 0 END AS credit
FROM legs l JOIN accounts a ON a.code = l.code AND a.currency = l.currency
"""

_TYPE_RANK = """CASE {t} WHEN 'asset' THEN 1 WHEN 'liability' THEN 2 WHEN 'equity' THEN 3
    WHEN 'revenue' THEN 4 ELSE 5 END"""

# -- trial balance -----------------------------------------------------------------------------
_TRIAL_BALANCE = """
WITH per_account AS (
    SELECT currency, code, name, type, normal_side,
           SUM(debit) AS debits, SUM(credit) AS credits
    FROM moves GROUP BY currency, code, name, type, normal_side
)
SELECT currency, code, name, type, debits, credits,
       CASE WHEN debits > credits THEN debits - credits ELSE 0 END AS debit_balance,
       CASE WHEN credits > debits THEN credits - debits ELSE 0 END AS credit_balance,
       CASE WHEN normal_side = 'debit' THEN debits - credits ELSE credits - debits END AS balance
FROM per_account
"""
TRIAL_BALANCE_ROWS = f"""
SELECT * FROM ({_TRIAL_BALANCE}) tb ORDER BY currency, {_TYPE_RANK.format(t="type")}, code
"""
# The total's balance is debits minus credits: zero when the ledger nets out.
TRIAL_BALANCE_TOTALS = f"""
SELECT currency, 'total', '', '', SUM(debits), SUM(credits), SUM(debit_balance),
       SUM(credit_balance), SUM(debit_balance) - SUM(credit_balance)
FROM ({_TRIAL_BALANCE}) tb GROUP BY currency ORDER BY currency
"""

# -- general ledger detail ---------------------------------------------------------------------
# Running balances run in business time (effective_at, then posting order), so that the
# first row of a period continues from the period's opening balance even when entries
# were posted back-dated.
_ACCOUNT_MOVES = """
SELECT currency, seq, leg_no, entry_id, effective_at, day, rule, cause_id,
       COALESCE(description, '') AS description, debit, credit,
       CASE WHEN normal_side = 'debit' THEN debit - credit ELSE credit - debit END AS delta
FROM moves WHERE code = $code
"""
GENERAL_LEDGER_ROWS = f"""
WITH running AS (
    SELECT m.*, SUM(delta) OVER (
        PARTITION BY currency ORDER BY effective_at, seq, leg_no
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance
    FROM ({_ACCOUNT_MOVES}) m
)
SELECT currency, day, seq, entry_id, rule, cause_id, description, debit, credit, balance
FROM running WHERE effective_at >= $since
ORDER BY currency, effective_at, seq, leg_no
"""
GENERAL_LEDGER_TOTALS = f"""
SELECT currency,
       SUM(CASE WHEN effective_at < $since THEN delta ELSE 0 END) AS opening,
       SUM(CASE WHEN effective_at >= $since THEN debit ELSE 0 END) AS debits,
       SUM(CASE WHEN effective_at >= $since THEN credit ELSE 0 END) AS credits,
       SUM(delta) AS closing
FROM ({_ACCOUNT_MOVES}) m GROUP BY currency ORDER BY currency
"""

# -- income statement --------------------------------------------------------------------------
# Revenue accounts that are debit-normal are contra revenue (refunds, credits given).
_INCOME_LINES = """
SELECT currency,
       CASE WHEN type = 'expense' THEN 'expenses'
            WHEN normal_side = 'debit' THEN 'contra_revenue' ELSE 'revenue' END AS section,
       code, name,
       CASE WHEN type = 'expense' OR normal_side = 'debit' THEN SUM(debit) - SUM(credit)
            ELSE SUM(credit) - SUM(debit) END AS amount
FROM moves
WHERE type IN ('revenue', 'expense') AND effective_at >= $since
GROUP BY currency, type, normal_side, code, name
"""
INCOME_STATEMENT_ROWS = f"""
SELECT * FROM ({_INCOME_LINES}) lines
ORDER BY currency, CASE section WHEN 'revenue' THEN 1 WHEN 'contra_revenue' THEN 2 ELSE 3 END,
         code
"""
INCOME_STATEMENT_TOTALS = f"""
WITH sections AS (
    SELECT currency,
           SUM(CASE WHEN section = 'revenue' THEN amount ELSE 0 END) AS revenue,
           SUM(CASE WHEN section = 'contra_revenue' THEN amount ELSE 0 END) AS contra_revenue,
           SUM(CASE WHEN section = 'expenses' THEN amount ELSE 0 END) AS expenses
    FROM ({_INCOME_LINES}) lines GROUP BY currency
)
SELECT currency, revenue, contra_revenue, revenue - contra_revenue AS net_revenue, expenses,
       revenue - contra_revenue - expenses AS net_income
FROM sections ORDER BY currency
"""

# -- balance sheet -----------------------------------------------------------------------------
# Revenue and expenses not yet closed to equity show as current earnings, so the
# sheet balances at any date without a closing entry.
_BALANCE_LINES = """
WITH per_account AS (
    SELECT currency, code, name, type, SUM(debit) AS debits, SUM(credit) AS credits
    FROM moves GROUP BY currency, code, name, type
)
SELECT currency, type AS section, code, name, 0 AS ord,
       CASE WHEN type = 'asset' THEN debits - credits ELSE credits - debits END AS amount
FROM per_account WHERE type IN ('asset', 'liability', 'equity')
UNION ALL
SELECT currency, 'equity', 'current_earnings', 'Current earnings', 1,
       SUM(credits) - SUM(debits)
FROM per_account WHERE type IN ('revenue', 'expense') GROUP BY currency
"""
BALANCE_SHEET_ROWS = f"""
SELECT currency, section, code, name, amount FROM ({_BALANCE_LINES}) lines
ORDER BY currency, {_TYPE_RANK.format(t="section")}, ord, code
"""
BALANCE_SHEET_TOTALS = f"""
WITH sections AS (
    SELECT currency,
           SUM(CASE WHEN section = 'asset' THEN amount ELSE 0 END) AS assets,
           SUM(CASE WHEN section = 'liability' THEN amount ELSE 0 END) AS liabilities,
           SUM(CASE WHEN section = 'equity' THEN amount ELSE 0 END) AS equity
    FROM ({_BALANCE_LINES}) lines GROUP BY currency
)
SELECT currency, assets, liabilities, equity, liabilities + equity AS liabilities_and_equity,
       assets - liabilities - equity AS difference
FROM sections ORDER BY currency
"""

# -- tax liability -----------------------------------------------------------------------------
_TAX_LINES = """
SELECT currency,
       CASE WHEN code = 'tax_payable' THEN '' ELSE SUBSTR(code, 13) END AS jurisdiction, code,
       SUM(CASE WHEN effective_at < $since THEN credit - debit ELSE 0 END) AS opening,
       SUM(CASE WHEN effective_at >= $since THEN credit ELSE 0 END) AS credits,
       SUM(CASE WHEN effective_at >= $since THEN debit ELSE 0 END) AS debits,
       SUM(credit - debit) AS closing
FROM moves WHERE code = 'tax_payable' OR SUBSTR(code, 1, 12) = 'tax_payable.'
GROUP BY currency, code
"""
TAX_LIABILITY_ROWS = f"SELECT * FROM ({_TAX_LINES}) t ORDER BY currency, jurisdiction"
TAX_LIABILITY_TOTALS = f"""
SELECT currency, 'total', '', SUM(opening), SUM(credits), SUM(debits), SUM(closing)
FROM ({_TAX_LINES}) t GROUP BY currency ORDER BY currency
"""

# -- accounts receivable aging -----------------------------------------------------------------
# Receivable legs group by what they concern: the entry's subject (an invoice, for
# payments and credit notes) or else its cause (the invoice itself, when booked).
# An item's age runs from its booking: the first invoice.* debit, else its first leg.
_AR_ITEMS = """
WITH ar AS (
    SELECT currency, COALESCE(subject_id, cause_id) AS item, rule, day, debit, credit
    FROM moves WHERE code = 'accounts_receivable'
), items AS (
    SELECT currency, item, SUM(debit) - SUM(credit) AS open_amount,
           COALESCE(MIN(CASE WHEN SUBSTR(rule, 1, 8) = 'invoice.' AND debit > 0 THEN day END),
                    MIN(day)) AS booked_day
    FROM ar GROUP BY currency, item
)
SELECT currency, item, booked_day, $through_day - booked_day AS age_days, open_amount
FROM items WHERE open_amount <> 0
"""
_BUCKETS = """
       CASE WHEN age_days <= 0 THEN open_amount ELSE 0 END AS current_amount,
       CASE WHEN age_days BETWEEN 1 AND 30 THEN open_amount ELSE 0 END AS days_1_30,
       CASE WHEN age_days BETWEEN 31 AND 60 THEN open_amount ELSE 0 END AS days_31_60,
       CASE WHEN age_days BETWEEN 61 AND 90 THEN open_amount ELSE 0 END AS days_61_90,
       CASE WHEN age_days > 90 THEN open_amount ELSE 0 END AS days_over_90,
       open_amount"""
AR_AGING_ROWS = f"""
SELECT currency, item, booked_day, age_days, {_BUCKETS}
FROM ({_AR_ITEMS}) i ORDER BY currency, age_days DESC, item
"""
AR_AGING_TOTALS = f"""
SELECT currency, SUM(current_amount), SUM(days_1_30), SUM(days_31_60), SUM(days_61_90),
       SUM(days_over_90), SUM(open_amount)
FROM (SELECT currency, {_BUCKETS} FROM ({_AR_ITEMS}) i) b
GROUP BY currency ORDER BY currency
"""

# -- deferred revenue rollforward --------------------------------------------------------------
# ``months`` is the grid (every month of the period, active or not), so that each
# month's ending balance is the next month's opening.
FIRST_DEFERRED_MONTH = "SELECT MIN(month) FROM moves WHERE code = 'deferred_revenue'"
_DEFERRED_BY_MONTH = """
SELECT currency, month,
       SUM(CASE WHEN rule = 'invoice.finalized' THEN credit ELSE 0 END) AS additions,
       SUM(CASE WHEN rule = 'revenue.recognized' THEN debit ELSE 0 END) AS recognized,
       SUM(credit - debit) AS net
FROM moves WHERE code = 'deferred_revenue' GROUP BY currency, month
"""
_ROLLFORWARD = f"""
WITH by_month AS ({_DEFERRED_BY_MONTH}),
before AS (
    SELECT currency, SUM(net) AS balance FROM by_month WHERE month < $first_month
    GROUP BY currency
),
currencies AS (SELECT DISTINCT currency FROM by_month),
grid AS (
    SELECT c.currency, g.month, COALESCE(b.additions, 0) AS additions,
           COALESCE(b.recognized, 0) AS recognized, COALESCE(b.net, 0) AS net
    FROM currencies c CROSS JOIN months g
    LEFT JOIN by_month b ON b.currency = c.currency AND b.month = g.month
)
SELECT g.currency, g.month, g.additions, g.recognized, g.net,
       COALESCE(p.balance, 0) + SUM(g.net) OVER (
           PARTITION BY g.currency ORDER BY g.month
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ending,
       COALESCE(p.balance, 0) AS before_period
FROM grid g LEFT JOIN before p ON p.currency = g.currency
"""
ROLLFORWARD_ROWS = f"""
SELECT currency, month, ending - net AS opening, additions, recognized,
       net - additions + recognized AS other, ending
FROM ({_ROLLFORWARD}) r ORDER BY currency, month
"""
ROLLFORWARD_TOTALS = f"""
SELECT currency, 'total', MIN(before_period), SUM(additions), SUM(recognized),
       SUM(net) - SUM(additions) + SUM(recognized), MIN(before_period) + SUM(net)
FROM ({_ROLLFORWARD}) r GROUP BY currency ORDER BY currency
"""

# -- revenue waterfall -------------------------------------------------------------------------
# Booked: what invoice finalization credited to revenue and deferred revenue that month.
# Recognized cells come from ``recognitions``, revenue recognition's per-obligation
# mirror of every movement on revenue (at booking, daily, and negative for voids).
# Released is what the booking gave back by other entries (refunds' and credit notes'
# releases of deferred revenue, voids), attributed through the invoice the entry
# concerns. Unrecognized is what the month's obligations still hold. A row sums to its
# booking exactly when revenue recognition's obligations match the journal.
_BOOKINGS = """
SELECT currency, month AS booked_month, credit - debit AS amount,
       COALESCE(subject_id, cause_id) AS item
FROM moves
WHERE rule = 'invoice.finalized' AND code IN ('deferred_revenue', 'revenue')
  AND month >= $first_month
"""
WATERFALL_BOOKED = f"""
SELECT currency, booked_month, SUM(amount) AS booked FROM ({_BOOKINGS}) b
GROUP BY currency, booked_month ORDER BY currency, booked_month
"""
WATERFALL_CELLS = f"""
WITH recognized AS (
    SELECT currency, booked_month, month AS recognized_month, SUM(amount) AS amount
    FROM recognitions
    WHERE account_id = $account_id AND day <= $through_day AND booked_month >= $first_month
    GROUP BY currency, booked_month, month
), booked_items AS (
    SELECT currency, item, MIN(booked_month) AS booked_month
    FROM ({_BOOKINGS}) b GROUP BY currency, item
), released AS (
    SELECT m.currency, i.booked_month, 'released' AS recognized_month,
           SUM(m.debit) - SUM(m.credit) AS amount
    FROM moves m JOIN booked_items i
      ON i.currency = m.currency AND i.item = COALESCE(m.subject_id, m.cause_id)
    WHERE m.code IN ('deferred_revenue', 'revenue')
      AND m.rule NOT IN ('invoice.finalized', 'revenue.recognized')
    GROUP BY m.currency, i.booked_month
), unrecognized AS (
    SELECT currency, booked_month, 'unrecognized' AS recognized_month, SUM(amount) AS amount
    FROM (
        SELECT currency, booked_month, amount FROM obligations
        WHERE account_id = $account_id AND booked_day <= $through_day
          AND booked_month >= $first_month
        UNION ALL
        SELECT currency, booked_month, 0 - amount FROM recognized
        UNION ALL
        SELECT currency, booked_month, 0 - amount FROM released
    ) o
    GROUP BY currency, booked_month
)
SELECT currency, booked_month, recognized_month, SUM(amount) AS amount
FROM (
    SELECT * FROM recognized UNION ALL SELECT * FROM released
    UNION ALL SELECT * FROM unrecognized
) c
GROUP BY currency, booked_month, recognized_month
HAVING SUM(amount) <> 0
ORDER BY currency, booked_month, recognized_month
"""
