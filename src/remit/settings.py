"""Configuration read from the environment, once, at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    sqlite_synchronous: str
    plugins_allowed: frozenset[str]
    # What a reconciliation run created through the API may read (the CLI reads anything its
    # user can): files and SQLite databases under these folders, other databases whose URL
    # starts with one of these prefixes.
    reconcile_roots: tuple[Path, ...] = ()
    reconcile_databases: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("REMIT_DATA_DIR", ".remit"))
        url = env.get("REMIT_DATABASE_URL") or f"sqlite:///{data_dir / 'remit.db'}"
        synchronous = env.get("REMIT_SQLITE_SYNCHRONOUS", "FULL").upper()
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(
                f"REMIT_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA: {synchronous}"
            )
        allowed = frozenset(p.strip() for p in env.get("REMIT_PLUGINS", "").split(",") if p.strip())
        roots = env.get("REMIT_RECONCILE_ROOTS", str(data_dir / "reconcile"))
        databases = env.get("REMIT_RECONCILE_DATABASES", "")
        return cls(
            url,
            data_dir,
            synchronous,
            allowed,
            tuple(Path(p) for p in roots.split(os.pathsep) if p.strip()),
            tuple(p.strip() for p in databases.split(",") if p.strip()),
        )
