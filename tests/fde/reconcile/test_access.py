"""Over the API a run reads only what the operator opened to it: files under the roots,
databases whose URL the operator listed; the platform's own objects always."""

from __future__ import annotations

from pathlib import Path

import pytest

from remit.fde.reconcile.access import check_api_source
from remit.fde.reconcile.sources import parse_source
from remit.primitives.errors import PermissionDenied
from remit.settings import Settings

CRM = "postgresql://crm@db.internal/crm"


def refused(text: str, roots: tuple[Path, ...], databases: tuple[str, ...] = ()) -> bool:
    try:
        check_api_source(parse_source(text), "right", roots, databases)
    except PermissionDenied as error:
        assert (error.code, error.param, error.http_status) == ("source_not_allowed", "right", 403)
        return True
    return False


def test_files_are_read_only_under_a_root(tmp_path: Path) -> None:
    roots = (tmp_path / "drop",)
    assert not refused(f"file:{tmp_path}/drop/bank.csv", roots)
    assert not refused(f"{tmp_path}/drop/sub/bank.parquet", roots)
    assert refused(f"file:{tmp_path}/elsewhere.csv", roots)
    assert refused(f"file:{tmp_path}/drop/../elsewhere.csv", roots)  # no way out by ..
    assert refused("file:/etc/passwd", roots)
    assert refused(f"file:{tmp_path}/drop/bank.csv", ())


def test_a_symlink_out_of_a_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "secret.csv").write_text("a\n1\n")
    (tmp_path / "drop" / "link.csv").symlink_to(tmp_path / "secret.csv")
    assert refused(f"file:{tmp_path}/drop/link.csv", (tmp_path / "drop",))


def test_sqlite_databases_are_files_and_others_need_listing(tmp_path: Path) -> None:
    roots = (tmp_path,)
    assert not refused(f"sql:sqlite:///{tmp_path}/crm.db#invoices", roots)
    assert refused("sql:sqlite:////var/lib/other.db#invoices", roots)
    assert refused(f"sql:{CRM}#invoices", roots)
    assert not refused(f"sql:{CRM}#invoices", roots, ("postgresql://crm@db.internal/",))
    assert refused(f"sql:{CRM}#invoices", roots, ("postgresql://crm@db.internal/other",))


def test_the_platform_is_always_the_callers_own() -> None:
    assert not refused("platform:invoices", ())


def test_settings_default_to_the_data_dirs_reconcile_folder() -> None:
    found = Settings.from_env({"REMIT_DATA_DIR": "/srv/remit"})
    assert found.reconcile_roots == (Path("/srv/remit/reconcile"),)
    assert found.reconcile_databases == ()
    listed = Settings.from_env(
        {"REMIT_RECONCILE_ROOTS": "/a:/b", "REMIT_RECONCILE_DATABASES": f"{CRM}, postgresql://x/"}
    )
    assert listed.reconcile_roots == (Path("/a"), Path("/b"))
    assert listed.reconcile_databases == (CRM, "postgresql://x/")


@pytest.mark.parametrize("text", ["file:relative/bank.csv", "bank.csv"])
def test_relative_paths_resolve_from_the_server_folder(text: str, tmp_path: Path) -> None:
    assert refused(text, (tmp_path,))
    assert not refused(text, (Path.cwd(),))
