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
        return cls(url, data_dir, synchronous, allowed)
