"""A small processor-vs-bank reconciliation, as files: what the run, API and CLI tests share.

The platform's export has six charges; the bank's statement shows four of them
(one a day later, one with a fee taken), one deposit the platform never recorded,
and one line whose amount cannot be read. What a run must find is known by
construction, so each test states it plainly.
"""

from __future__ import annotations

from pathlib import Path

RULES = """\
name: processor-vs-bank
version: 3
left:
  label: platform
  columns: {id: txn_id, amount: amount, currency: currency, date: created, reference: source_id}
right:
  label: bank
  columns: {id: id, amount: amount, currency: currency, date: date, reference: reference}
  amount_format: decimal
  date_format: iso8601
passes:
  - {name: by_reference, match: reference, date_window: 5d}
  - {name: by_amount_and_date, match: amount_date, date_window: 3d}
breaks:
  timing_window: 30d
"""

PLATFORM = """\
txn_id,amount,currency,created,source_id
p1,1000,usd,1700000000,ch_1
p2,2500,usd,1700000100,ch_2
p3,700,usd,1700000200,ch_3
p4,1250,usd,1700000300,ch_4
p5,4000,usd,1700000400,ch_5
p6,990,usd,1700000500,
"""

BANK = """\
id,amount,currency,date,reference
b1,10.00,usd,2023-11-14T22:13:20Z,ch_1
b2,25.00,usd,2023-11-15T22:15:00Z,ch_2
b4,12.50,usd,2023-11-14T22:18:20Z,ch_4
b5,12.3x,usd,2023-11-14T22:18:20Z,ch_5
b6,99.00,usd,2023-11-14T22:20:00Z,ch_9
b7,9.90,usd,2023-11-14T22:21:40Z,
"""
# What the bank shows next month: the charge it had missed (p3) has arrived.
BANK_LATER = BANK + "b3,7.00,usd,2023-11-14T22:16:40Z,ch_3\n"

REJECTED_LINE = 5  # b5: the header is line 1


def write_inputs(directory: Path, bank: str = BANK) -> tuple[Path, Path, Path]:
    """The rules, the platform's export and the bank's statement, as files."""
    directory.mkdir(parents=True, exist_ok=True)
    rules, platform, statement = (
        directory / "rules.yaml", directory / "platform.csv", directory / "bank.csv",
    )  # fmt: skip
    rules.write_text(RULES)
    platform.write_text(PLATFORM)
    statement.write_text(bank)
    return rules, platform, statement


# State mode: a CRM's copy of the platform's customers, keyed by the platform's ids.
CRM_RULES = """\
name: crm-customers
version: 1
mode: state
object: customer
key: {platform: id, external: stripe_id}
external: {label: crm}
fields:
  - {platform: email, external: email, authority: external}
  - {platform: phone, external: phone}
"""


def write_crm(directory: Path, rows: list[tuple[str, str, str]]) -> Path:
    """The CRM's export: (stripe_id, email, phone) per customer, a header first."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "crm.csv"
    path.write_text("stripe_id,email,phone\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return path
