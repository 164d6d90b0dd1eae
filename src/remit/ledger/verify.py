"""Verify the ledger against itself (``remit ledger verify``); findings come back as records.

Checks: running totals equal their legs (posted: posted and post_pending entries; pending:
unresolved pending entries); debits equal credits per currency over all legs and totals;
entries have 2+ legs balanced per currency, legs have entries; the hash chain and heads;
no limit ever crossed, replayed in seq order; ``extra_checks`` of others, per tenant.
Each hash checked against its own prev_hash, and each prev_hash against the previous hash,
proves what recomputing the chain from genesis proves, set-based. Checks run side by side:
threads on PostgreSQL, processes on a big SQLite file (its engine serialises threads).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from itertools import chain, groupby, pairwise
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from remit.accounts.tables import accounts as tenants
from remit.ledger.accounts import LedgerAccount
from remit.ledger.domain.entries import GENESIS_HASH, Finding, Sealed, chain_hash
from remit.ledger.tables import journal_entries, journal_legs, ledger_heads
from remit.store.engine import Store, make_engine

MAX_FINDINGS = 200  # listed per job; the rest are counted
FETCH_ROWS, RECHECK_IDS, WORKERS, DIGEST_PARTS = 5_000, 500, 2, 6
# From this many entries on, SQLite is verified by processes (so a script calling verify needs
# multiprocessing's __main__ guard); below, starting them costs more than they save.
PROCESSES_FROM_ENTRIES = 300_000
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
MMAP_PRAGMA = f"PRAGMA mmap_size = {1 << 36}"  # workers read big SQLite files via the page cache


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One thing wrong: the check that found it, what, in which tenant, on which object."""

    check: str
    code: str
    message: str
    account_id: str | None = None
    object_id: str | None = None


ExtraCheck = Callable[[sa.Connection, str], Sequence["Finding | Discrepancy"]]  # one tenant's


@dataclass(frozen=True, slots=True)
class VerifyReport:
    findings: tuple[Discrepancy, ...]
    entries: int
    legs: int
    accounts: int
    tenants: int
    elapsed_s: float
    omitted: int = 0  # findings past MAX_FINDINGS of a job

    @property
    def clean(self) -> bool:
        return not self.findings and not self.omitted


@dataclass(slots=True)
class _Part:
    findings: list[Discrepancy] = field(default_factory=list)
    omitted: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, check: str, code: str, message: str, tenant: Any = None, obj: Any = None) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Discrepancy(check, code, message, tenant, obj))
        else:
            self.omitted += 1


# The digest composes what chain_hash hashes: "|"-joined fields, then "account:side:amount:
# currency" per leg in leg_no order. chain_hash itself judges every entry the SQL flags; a
# flagged entry it finds sound means the two no longer compose alike.
_DIALECT = {
    "sqlite": {
        "digest": "remit_sha256(printf('%s|%d|%s|%s|%s|%s|%s|%d|%s|%s|', e.prev_hash, e.seq, "
        "e.id, e.kind, e.rule, e.cause_id, COALESCE(e.subject_id, ''), e.effective_at, "
        "COALESCE(e.pending_id, ''), COALESCE(e.reverses, '')) || group_concat(printf("
        "'%s:%s:%d:%s', l.ledger_account_id, l.side, l.amount, l.currency), '|'))",
        "join": "CROSS JOIN",  # SQLite's way to fix the join order
        "links": """SELECT e.account_id, e.seq, e.id, p.seq, p.hash FROM journal_entries e
LEFT JOIN journal_entries p ON p.account_id = e.account_id AND p.seq = e.seq - 1
WHERE (p.seq IS NULL AND (e.seq <> 1 OR e.prev_hash <> :genesis)
       OR p.seq IS NOT NULL AND p.hash <> e.prev_hash) {e_where} LIMIT :bound""",
    },
    "postgresql": {
        "digest": "encode(sha256(convert_to(concat_ws('|', e.prev_hash, e.seq, e.id, e.kind, "
        "e.rule, e.cause_id, COALESCE(e.subject_id, ''), e.effective_at, COALESCE(e.pending_id, "
        "''), COALESCE(e.reverses, ''), string_agg(l.ledger_account_id || ':' || l.side || ':' "
        "|| l.amount || ':' || l.currency, '|' ORDER BY l.leg_no)), 'UTF8')), 'hex')",
        "join": "JOIN",
        "links": """SELECT account_id, seq, id, prior_seq, prior_hash FROM (SELECT e.account_id,
e.seq, e.id, e.prev_hash, LAG(e.seq) OVER w AS prior_seq, LAG(e.hash) OVER w AS prior_hash FROM
journal_entries e WHERE 1 = 1 {e_where} WINDOW w AS (PARTITION BY e.account_id ORDER BY e.seq)) x
WHERE prev_hash <> COALESCE(prior_hash, :genesis) OR seq <> COALESCE(prior_seq, 0) + 1
LIMIT :bound""",
    },
}
_SIGNED = "SUM(CASE l.side WHEN 'D' THEN l.amount ELSE -l.amount END)"
_SOUND = f"{{digest}} = e.hash AND COUNT(l.leg_no) >= 2 AND {_SIGNED} = 0"
_DIGEST_SQL = f"""SELECT e.id, {_SOUND} FROM journal_entries e LEFT JOIN journal_legs l
ON l.entry_id = e.id {{legs_range}} WHERE 1 = 1 {{e_where}} {{range}} GROUP BY e.id
HAVING NOT ({_SOUND}) OR MIN(l.currency) <> MAX(l.currency)"""
_PER_CURRENCY_SQL = f"""SELECT l.entry_id, l.currency, {_SIGNED} FROM journal_legs l
WHERE l.entry_id IN :ids GROUP BY l.entry_id, l.currency HAVING {_SIGNED} <> 0"""
_D, _C = (f"SUM(CASE WHEN {{}}l.side = '{s}' THEN l.amount ELSE 0 END)" for s in "DC")
_SUMS_SQL = f"""SELECT l.ledger_account_id AS la, l.currency, {_D.format("")} AS d,
{_C.format("")} AS c FROM journal_legs l {{legs_where}} GROUP BY l.ledger_account_id, l.currency"""
_P, _X = "e.kind = 'pending' AND ", "e.kind <> 'pending' AND "
_BALANCES_SQL = f"""SELECT a.id, a.account_id, a.code, a.currency, a.debits_posted,
  a.credits_posted, a.debits_pending, a.credits_pending, g.currency, g.d, g.c, k.pd, k.pc,
  k.xd, k.xc, r.d, r.c FROM ledger_accounts a LEFT JOIN {{sums}} g ON g.la = a.id
LEFT JOIN (SELECT l.ledger_account_id AS la, {_D.format(_P)} AS pd, {_C.format(_P)} AS pc,
  {_D.format(_X)} AS xd, {_C.format(_X)} AS xc FROM journal_entries e {{join}} journal_legs l
  ON l.entry_id = e.id WHERE e.kind IN ('pending', 'void_pending', 'expire_pending')
  {{e_where}} GROUP BY l.ledger_account_id) k ON k.la = a.id
LEFT JOIN (SELECT l.ledger_account_id AS la, {_D.format("")} AS d, {_C.format("")} AS c
  FROM journal_entries e {{join}} journal_legs l ON l.entry_id = e.pending_id
  WHERE e.pending_id IS NOT NULL {{e_where}} GROUP BY l.ledger_account_id) r ON r.la = a.id
WHERE 1 = 1 {{a_where}} ORDER BY a.id"""
_HEADS_SQL = """SELECT m.account_id, m.n, m.max_seq, e.hash, h.last_seq, h.last_hash
FROM (SELECT e.account_id, COUNT(*) AS n, MAX(e.seq) AS max_seq FROM journal_entries e
      WHERE 1 = 1 {e_where} GROUP BY e.account_id) m
JOIN journal_entries e ON e.account_id = m.account_id AND e.seq = m.max_seq
LEFT JOIN ledger_heads h ON h.account_id = m.account_id
UNION ALL SELECT h.account_id, 0, 0, :genesis, h.last_seq, h.last_hash FROM ledger_heads h
WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.account_id = h.account_id) {h_where}"""
_ORPHANS_SQL = """SELECT entry_id FROM (SELECT DISTINCT l.entry_id FROM journal_legs l {legs_where})
d WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = d.entry_id) LIMIT :bound"""
# Limited accounts' legs in seq order as (tenant, seq, account, TOTALS index, amount): pending
# entries' legs count as pending, and resolutions take their hold's legs off pending again.
_LIMIT_LEGS = """SELECT e.account_id, e.seq, l.ledger_account_id, {slot} + CASE l.side WHEN 'D'
THEN 0 ELSE 1 END, {sign}l.amount FROM ledger_accounts a {join} journal_legs l
ON l.ledger_account_id = a.id {join} journal_entries e ON {on}
WHERE a.limit_rule IS NOT NULL AND e.kind IN {kinds} {a_where}"""
_LIMITS_SQL = f"""{_LIMIT_LEGS.format(slot="CASE e.kind WHEN 'pending' THEN 2 ELSE 0 END",
    sign="", on="e.id = l.entry_id", kinds="('posted', 'post_pending', 'pending')", join="{join}",
    a_where="{a_where}")} UNION ALL {_LIMIT_LEGS.format(slot="2", sign="-", join="{join}",
    on="e.pending_id = l.entry_id", kinds="('post_pending', 'void_pending', 'expire_pending')",
    a_where="{a_where}")} ORDER BY 1, 2"""  # fmt: skip
_LIMITED_SQL = "SELECT id, code, currency, limit_rule FROM ledger_accounts a WHERE " \
               "limit_rule IS NOT NULL {a_where}"  # fmt: skip
_SQLITE_SUMS = ("DROP TABLE IF EXISTS temp.remit_verify_sums",
    "CREATE TEMP TABLE remit_verify_sums (la TEXT, currency TEXT, d INT, c INT, PRIMARY KEY (la, "
    "currency))",
    "INSERT INTO temp.remit_verify_sums SELECT ledger_account_id, currency, CASE side WHEN 'D' "
    "THEN amount ELSE 0 END, CASE side WHEN 'C' THEN amount ELSE 0 END FROM journal_legs NOT "
    "INDEXED WHERE true ON CONFLICT (la, currency) DO UPDATE SET d = d + excluded.d, "
    "c = c + excluded.c")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Scope:
    dialect: str
    account_id: str | None

    def sql(self, template: str, **extra: str) -> str:
        where = "AND {}.account_id = :account_id" if self.account_id else ""
        per_tenant = "WHERE l.ledger_account_id IN (SELECT id FROM ledger_accounts " \
                     "WHERE account_id = :account_id)" if self.account_id else ""  # fmt: skip
        sums = f"({_SUMS_SQL.format(legs_where=per_tenant)})"
        if self.dialect == "sqlite" and not self.account_id:  # filled by _balances
            sums = "temp.remit_verify_sums"
        return template.format(**{**_DIALECT[self.dialect], "e_where": where.format("e"),
            "legs_where": per_tenant, "a_where": where.format("a"), "h_where": where.format("h"),
            "sums": sums, **extra})  # fmt: skip

    @property
    def params(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "bound": MAX_FINDINGS, "genesis": GENESIS_HASH}


def verify(
    store: Store, account_id: str | None = None, *, extra_checks: Sequence[ExtraCheck] = ()
) -> VerifyReport:
    """Check the whole ledger, or one tenant's (``account_id``), and report every finding."""
    started, scope = time.perf_counter(), _Scope(store.dialect, account_id)
    with store.read() as conn:
        entries, ranges = _digest_ranges(conn, scope)
    jobs = [*(("digest", lo, hi) for lo, hi in ranges), ("chain",), ("balances",), ("limits",)]
    url, target = store.engine.url, store
    pool: Executor = ThreadPoolExecutor(1 if store.is_sqlite else WORKERS)  # SQLite: see above
    if store.is_sqlite and entries >= PROCESSES_FROM_ENTRIES and url.database != ":memory:":
        pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
        target = url.render_as_string(hide_password=False)  # type: ignore[assignment]
    with pool:
        parts = list(pool.map(_run_job, [target] * len(jobs), [scope] * len(jobs), jobs))
    parts.append(_extra(store, scope, extra_checks))
    n = sum((Counter(part.counts) for part in parts), Counter[str]())
    return VerifyReport(tuple(f for part in parts for f in part.findings), n["entries"], n["legs"],
                        n["accounts"], n["tenants"], time.perf_counter() - started,
                        sum(part.omitted for part in parts))  # fmt: skip


def _run_job(target: Store | str, scope: _Scope, job: tuple[Any, ...]) -> _Part:
    if isinstance(target, str):  # in a worker process: reads of a big file mapped to memory
        if target not in _STORES:
            engine = _STORES.setdefault(target, Store(make_engine(target))).engine
            sa.event.listen(engine, "connect", lambda raw, _: raw.execute(MMAP_PRAGMA))
        target = _STORES[target]
    with target.read() as conn:
        if conn.dialect.name == "sqlite":
            raw: Any = conn.connection.dbapi_connection
            digest = lambda text: text and hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
            raw.create_function("remit_sha256", 1, digest, deterministic=True)
        return _JOBS[job[0]](conn, scope, *job[1:])


_STORES: dict[str, Store] = {}  # a worker process's own stores, by database url


def _stream(conn: sa.Connection, sql: str, params: dict[str, Any]) -> Iterator[Any]:
    """The driver's own cursor, in chunks (a server-side cursor on PostgreSQL)."""
    compiled = sa.text(sql).compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    args = [values[k] for k in compiled.positiontup or ()] if compiled.positional else values
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor(name="remit_verify") if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(str(compiled), args)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows
    finally:
        cursor.close()


def _rows(conn: sa.Connection, sql: str, scope: _Scope, **params: Any) -> Sequence[Any]:
    return conn.execute(sa.text(sql), {**scope.params, **params}).all()


def _digest_ranges(conn: sa.Connection, scope: _Scope) -> tuple[int, list[tuple[Any, Any]]]:
    entries = "SELECT {} FROM journal_entries e WHERE 1 = 1 {{e_where}} "
    total = int(_rows(conn, scope.sql(entries.format("COUNT(*)")), scope)[0][0])
    nth = scope.sql(entries.format("e.id") + "ORDER BY e.id LIMIT 1 OFFSET :skip")
    parts = DIGEST_PARTS if total >= 10_000 else 1
    inner = [_rows(conn, nth, scope, skip=total * n // parts)[0][0] for n in range(1, parts)]
    return total, list(pairwise([None, *inner, None]))


def _digest(conn: sa.Connection, scope: _Scope, lo: str | None, hi: str | None) -> _Part:
    """Suspects go to chain_hash; sound entries in two currencies get each one summed."""
    ends = "AND {0} >= :lo " * bool(lo) + "AND {0} < :hi" * bool(hi)  # legs' too: merge-joinable
    sql = scope.sql(_DIGEST_SQL, range=ends.format("e.id"), legs_range=ends.format("l.entry_id"))
    part = _Part()
    flagged: tuple[list[str], list[str]] = ([], [])  # (suspects, sound but multi-currency)
    for entry_id, sound in _stream(conn, sql, {**scope.params, "lo": lo, "hi": hi}):
        flagged[bool(sound)].append(entry_id)
        if len(flagged[bool(sound)]) == RECHECK_IDS:
            _recheck(conn, *flagged, part)
            flagged = ([], [])
    _recheck(conn, *flagged, part)
    return part


def _recheck(conn: sa.Connection, suspects: list[str], multi: list[str], part: _Part) -> None:
    by_ids = sa.text(_PER_CURRENCY_SQL).bindparams(sa.bindparam("ids", expanding=True))
    for entry_id, currency, net in conn.execute(by_ids, {"ids": multi}) if multi else ():
        part.add("entries", "ledger_entry_unbalanced", f"Entry {entry_id}: debits and credits "
                 f"in {currency} differ by {int(net)}.", None, entry_id)  # fmt: skip
    legs: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    ordered = (journal_legs.c.entry_id, journal_legs.c.leg_no)
    for leg in conn.execute(
        sa.select(journal_legs).where(ordered[0].in_(suspects)).order_by(*ordered)
    ):
        legs[leg.entry_id].append((leg.ledger_account_id, leg.side, leg.amount, leg.currency))
    for row in conn.execute(sa.select(journal_entries).where(journal_entries.c.id.in_(suspects))):
        values = {**row._mapping, "entry_id": row.id, "legs": tuple(legs[row.id])}
        sealed = Sealed(**{f.name: values[f.name] for f in fields(Sealed)})
        where, tenant, found = f"Entry {row.id} (seq {row.seq})", row.account_id, len(part.findings)
        if len(sealed.legs) < 2:
            part.add("entries", "ledger_entry_legs", f"{where} has {len(sealed.legs)} legs.",
                     tenant, row.id)  # fmt: skip
        nets: dict[str, int] = defaultdict(int)
        for _, side, amount, currency in sealed.legs:
            nets[currency] += amount if side == "D" else -amount
        for currency, net in sorted((c, n) for c, n in nets.items() if n):
            part.add("entries", "ledger_entry_unbalanced", f"{where}: debits and credits in "
                     f"{currency} differ by {net}.", tenant, row.id)  # fmt: skip
        if chain_hash(row.prev_hash, sealed) != row.hash:
            part.add("chain", "ledger_chain_hash", f"{where} does not match its hash: it "
                     "changed after it was posted.", tenant, row.id)  # fmt: skip
        elif len(part.findings) == found and not part.omitted:
            raise RuntimeError("remit.ledger.verify's SQL digest no longer matches chain_hash")


def _chain(conn: sa.Connection, scope: _Scope) -> _Part:
    """prev_hash links to seq - 1 from seq 1 on, heads name the last entries, legs their entry."""
    count = scope.sql("SELECT COUNT(*) FROM journal_legs l {legs_where}")
    part = _Part(counts={"entries": 0, "tenants": 0, "legs": int(_rows(conn, count, scope)[0][0])})
    for (entry_id,) in _rows(conn, scope.sql(_ORPHANS_SQL), scope):
        part.add("entries", "ledger_orphan_legs", f"Legs name entry {entry_id}, which does not "
                 "exist.", None, entry_id)  # fmt: skip
    links = scope.sql(_DIALECT[scope.dialect]["links"])  # a self-join, or a window: the faster
    for tenant, seq, entry_id, prior_seq, prior_hash in _rows(conn, links, scope):
        if seq != 1 and prior_seq != seq - 1:
            part.add("chain", "ledger_chain_seq", f"No entry at seq {seq - 1}, before seq {seq}.",
                     tenant, entry_id)  # fmt: skip
        else:
            before = "the genesis hash" if prior_hash is None else f"seq {prior_seq}'s hash"
            part.add("chain", "ledger_chain_link", f"The prev_hash of seq {seq} is not {before}.",
                     tenant, entry_id)  # fmt: skip
    heads = _stream(conn, scope.sql(_HEADS_SQL), scope.params)
    for tenant, n, last_seq, last_hash, head_seq, head_hash in heads:
        part.counts["entries"] += n
        part.counts["tenants"] += 1
        if (head_seq, head_hash) != (last_seq, last_hash):
            part.add("chain", "ledger_head_mismatch", f"ledger_heads names seq {head_seq}, hash "
                     f"{str(head_hash)[:12]}; the last entry is seq {last_seq}, hash "
                     f"{str(last_hash)[:12]}.", tenant)  # fmt: skip
    return part


def _balances(conn: sa.Connection, scope: _Scope) -> _Part:
    """Running totals against their legs, and debits against credits per currency."""
    part, nets = _Part(counts={"accounts": 0}), defaultdict[tuple[str, str], int](int)
    if scope.dialect == "sqlite" and not scope.account_id:  # SQLite's GROUP BY sorts every leg
        for statement in _SQLITE_SUMS:
            conn.exec_driver_sql(statement)
    rows = _stream(conn, scope.sql(_BALANCES_SQL), scope.params)
    for la, grouped in groupby(rows, itemgetter(0)):
        group = list(grouped)
        _, tenant, code, currency, *kept = group[0][:8]
        d = c = 0
        for leg_currency, leg_d, leg_c in (row[8:11] for row in group if row[8] is not None):
            d, c = d + int(leg_d), c + int(leg_c)
            nets[(leg_currency, "all legs")] += int(leg_d) - int(leg_c)
        pd, pc, xd, xc, rd, rc = (int(v or 0) for v in group[0][11:17])
        derived = (d - pd - xd, c - pc - xc, pd - rd, pc - rc)
        for name, stored, legs in zip(TOTALS, kept, derived, strict=True):
            if stored != legs:
                part.add("balances", "ledger_totals_mismatch", f"{code} ({currency}): {name} "
                         f"is {stored}, its legs say {legs}.", tenant, la)  # fmt: skip
        nets[(currency, "posted totals")] += kept[0] - kept[1]
        nets[(currency, "pending totals")] += kept[2] - kept[3]
        part.counts["accounts"] += 1
    for (currency, over), net in sorted((key, net) for key, net in nets.items() if net):
        part.add("totals", "ledger_unbalanced", f"Over {over} in {currency}, debits minus "
                 f"credits is {net}, not 0.", scope.account_id)  # fmt: skip
    return part


def _limits(conn: sa.Connection, scope: _Scope) -> _Part:
    """Replay limited accounts entry by entry in seq order; report each one's first crossing."""
    part, crossed, touched = _Part(), set[str](), set[str]()
    limited = {r.id: LedgerAccount(r.id, r.code, r.currency, "", r.limit_rule, False, 0, 0, 0, 0)
               for r in conn.execute(sa.text(scope.sql(_LIMITED_SQL)), scope.params)}  # fmt: skip
    held, at = dict[str, LedgerAccount](), (None, None)
    rows = _stream(conn, scope.sql(_LIMITS_SQL), scope.params)
    for tenant, seq, la, slot, amount in chain(rows, [(None,) * 5]):  # the last flushes
        if seq != at[1] or tenant != at[0]:
            for account in (held[t] for t in sorted(touched - crossed) if held[t].crosses_limit()):
                crossed.add(account.id)
                part.add("limits", "ledger_limit_crossed", f"{account.code} ({account.currency}) "
                         f"broke {account.limit_rule} at seq {at[1]}: debits "
                         f"{account.debits_posted} (+{account.debits_pending} pending), credits "
                         f"{account.credits_posted} (+{account.credits_pending} pending).",
                         at[0], account.id)  # fmt: skip
            held, at, touched = held if tenant == at[0] else {}, (tenant, seq), set()
        if la is not None:
            if la not in held:  # a tenant's walk starts from zero totals
                held[la] = replace(limited[la])
            setattr(held[la], TOTALS[slot], getattr(held[la], TOTALS[slot]) + amount)
            touched.add(la)
    return part


_JOBS: dict[str, Callable[..., _Part]] = {"digest": _digest, "chain": _chain,
                                          "balances": _balances, "limits": _limits}  # fmt: skip


def _extra(store: Store, scope: _Scope, checks: Sequence[ExtraCheck]) -> _Part:
    """Other capabilities' checks, per tenant, in one snapshot (REPEATABLE READ on PostgreSQL)."""
    part = _Part()
    options = {"isolation_level": "REPEATABLE READ"} if store.dialect == "postgresql" else {}
    with store.engine.connect().execution_options(**options) as conn:  # rolled back on close
        everyone = sa.union(sa.select(tenants.c.id), sa.select(ledger_heads.c.account_id))
        ids = [scope.account_id] if scope.account_id else conn.execute(everyone).scalars().all()
        for tenant, check in ((t, c) for t in (sorted(ids) if checks else ()) for c in checks):
            try:
                found = check(conn, tenant)
            except Exception as exc:  # a broken check is a finding, not the end of the run
                found = [Finding("ledger_verify_check_failed", f"{check!r}: {exc!r}")]
            for f in found:
                part.add(getattr(f, "check", "extra"), f.code, f.message, tenant,
                         getattr(f, "object_id", None) or getattr(f, "param", None))  # fmt: skip
    return part
