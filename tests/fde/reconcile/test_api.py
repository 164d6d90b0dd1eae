"""/v1/reconciliation through HTTP: runs created from files, then read, paged and diffed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from runs_support import BANK_LATER, CRM_RULES, REJECTED_LINE, RULES, write_crm, write_inputs

from conftest import new_account
from remit.accounts.service import NewAccount
from remit.fde.reconcile import repair
from remit.store.engine import Store

RUNS = "/v1/reconciliation/runs"
PLANS = "/v1/reconciliation/repair_plans"


@pytest.fixture(autouse=True)
def _api_may_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the API, runs read files only under REMIT_RECONCILE_ROOTS: here, the test's."""
    monkeypatch.setenv("REMIT_RECONCILE_ROOTS", str(tmp_path))


def create_run(api: httpx.Client, directory: Path, bank: str | None = None) -> dict[str, Any]:
    _, platform, statement = write_inputs(directory, **({"bank": bank} if bank else {}))
    answer = api.post(RUNS, data={"rules": RULES, "left": f"file:{platform}",
                                  "right": str(statement)})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_run_is_created_listed_and_retrieved(api: httpx.Client, tmp_path: Path) -> None:
    first = create_run(api, tmp_path / "a")
    second = create_run(api, tmp_path / "b")
    assert first["object"] == "reconciliation.run" and first["status"] == "succeeded"
    assert first["summary"]["matched_pairs"] == 4 and first["livemode"] is False
    assert api.get(f"{RUNS}/{first['id']}").json() == first
    listed = api.get(RUNS, params={"limit": 1}).json()
    assert [run["id"] for run in listed["data"]] == [second["id"]] and listed["has_more"]
    rest = api.get(RUNS, params={"starting_after": second["id"]}).json()
    assert [run["id"] for run in rest["data"]] == [first["id"]] and not rest["has_more"]
    assert api.get(RUNS, params={"status": "failed"}).json()["data"] == []


def test_breaks_are_filtered_by_type_and_paged_in_the_run_order(
    api: httpx.Client, tmp_path: Path
) -> None:
    run = create_run(api, tmp_path)
    url = f"{RUNS}/{run['id']}/breaks"
    missing = api.get(url, params={"type": "missing_in_platform"}).json()
    assert [(b["type"], b["right"]["ids"]) for b in missing["data"]] == [
        ("missing_in_platform", ["b6"])
    ]
    assert missing["data"][0]["object"] == "reconciliation.break"
    assert missing["data"][0]["run"] == run["id"] and missing["data"][0]["detail"]
    page = api.get(url, params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["has_more"]
    rest = api.get(url, params={"starting_after": page["data"][-1]["id"]}).json()
    assert [b["break_key"] for b in rest["data"]] == ["missing_in_platform||b6|"]
    back = api.get(url, params={"ending_before": rest["data"][0]["id"]}).json()
    assert back["data"] == page["data"]
    wrong = api.get(url, params={"type": "telepathy"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "type"


def test_matches_and_rejects_are_listed_with_their_pass_and_line(
    api: httpx.Client, tmp_path: Path
) -> None:
    run = create_run(api, tmp_path)
    whole = api.get(f"{RUNS}/{run['id']}/matches").json()["data"]
    numbers = [m["match_no"] for m in whole]
    assert len(numbers) == 4 and numbers == sorted(numbers)
    assert [m["pass"] for m in whole].count("by_amount_and_date") == 1
    assert {(m["left"]["ids"][0], m["right"]["ids"][0]) for m in whole} == {
        ("p1", "b1"),
        ("p2", "b2"),
        ("p4", "b4"),
        ("p6", "b7"),
    }
    first = api.get(f"{RUNS}/{run['id']}/matches", params={"limit": 3}).json()
    assert first["data"] == whole[:3] and first["has_more"]
    rest = api.get(f"{RUNS}/{run['id']}/matches",
                   params={"starting_after": first["data"][-1]["id"]}).json()  # fmt: skip
    assert rest["data"] == whole[3:] and not rest["has_more"]
    rejects = api.get(f"{RUNS}/{run['id']}/rejects").json()["data"]
    assert [(r["side"], r["line"], r["field"], r["code"]) for r in rejects] == [
        ("right", REJECTED_LINE, "amount", "invalid_amount")
    ]
    assert api.get(f"{RUNS}/{run['id']}/rejects", params={"side": "left"}).json()["data"] == []


def test_a_diff_shows_what_the_later_run_resolved(api: httpx.Client, tmp_path: Path) -> None:
    before = create_run(api, tmp_path / "a")
    after = create_run(api, tmp_path / "b", bank=BANK_LATER)
    found = api.get(f"{RUNS}/{after['id']}/diff", params={"against": before["id"]}).json()
    assert found["object"] == "reconciliation.run_diff"
    assert [b["left"]["ids"] for b in found["resolved"]] == [["p3"]]
    assert (found["new_count"], found["persisting"]) == (0, 2)
    missing = api.get(f"{RUNS}/{after['id']}/diff", params={"against": "recrun_nope"})
    assert missing.status_code == 404


def test_bad_rules_or_sources_answer_400_with_the_param_and_persist_nothing(
    api: httpx.Client, store: Store, tmp_path: Path
) -> None:
    _, platform, statement = write_inputs(tmp_path)
    bad_rules = RULES.replace("match: reference", "match: telepathy")
    answer = api.post(RUNS, data={"rules": bad_rules, "left": str(platform),
                                  "right": str(statement)})  # fmt: skip
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"].startswith("passes[0]")
    unknown = api.post(RUNS, data={"rules": RULES, "left": "ftp:somewhere",
                                   "right": str(statement)})  # fmt: skip
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "left"
    missing = api.post(RUNS, data={"rules": RULES, "left": str(platform)})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "right"
    assert api.get(RUNS).json()["data"] == []


def test_another_account_cannot_see_a_run(
    api: httpx.Client, server: Any, store: Store, tmp_path: Path
) -> None:
    run = create_run(api, tmp_path)
    other = new_account(store, "Other")
    headers = {"Authorization": f"Bearer {other.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as stranger:
        for path in ("", "/breaks", "/matches", "/rejects"):
            assert stranger.get(f"{RUNS}/{run['id']}{path}").status_code == 404
        assert stranger.get(RUNS).json()["data"] == []


def test_a_repair_plan_is_proposed_and_applied_only_with_the_token_a_person_got(
    api: httpx.Client, store: Store, account: NewAccount, tmp_path: Path
) -> None:
    ann = api.post("/v1/customers", data={"email": "ann@example.com", "phone": "1"}).json()
    bob = api.post("/v1/customers", data={"email": "bob@example.com", "phone": "2"}).json()
    crm = write_crm(tmp_path, [(ann["id"], "ann@example.com", "1"),
                               (bob["id"], "bob@new.example.com", "2")])  # fmt: skip
    run = api.post(RUNS, data={"rules": CRM_RULES, "left": "platform:customers",
                               "right": str(crm)}).json()  # fmt: skip
    assert run["mode"] == "state" and run["summary"]["breaks_by_type"]["field_divergence"] == 1
    plan = api.post(PLANS, data={"run": run["id"]}).json()
    assert plan["object"] == "reconciliation.repair_plan" and plan["status"] == "proposed"
    (action,) = plan["actions"]
    assert (action["type"], action["object_id"]) == ("update_record", bob["id"])
    assert api.get(PLANS, params={"run": run["id"]}).json()["data"] == [plan]
    assert api.get(f"{PLANS}/{plan['id']}").json() == plan
    # Nobody approves over HTTP; unapproved, the plan cannot be applied.
    assert api.post(f"{PLANS}/{plan['id']}/approve").status_code == 404
    early = api.post(f"{PLANS}/{plan['id']}/apply", data={"approval_token": "guess"})
    assert early.status_code == 400 and early.json()["error"]["code"] == "plan_not_approved"
    with store.write() as conn:
        token = repair.approve(conn, account.account.id, plan["id"], "Dana", 1_700_000_000)
    wrong = api.post(f"{PLANS}/{plan['id']}/apply", data={"approval_token": token[::-1]})
    assert wrong.status_code == 403 and wrong.json()["error"]["param"] == "approval_token"
    assert api.get(f"/v1/customers/{bob['id']}").json()["email"] == "bob@example.com"
    applied = api.post(f"{PLANS}/{plan['id']}/apply", data={"approval_token": token}).json()
    assert applied["status"] == "applied" and applied["approved_by"] == "Dana"
    assert api.get(f"/v1/customers/{bob['id']}").json()["email"] == "bob@new.example.com"
    audit = api.get(f"{PLANS}/{plan['id']}/audit").json()
    assert [(r["action"], r["object_id"], r["approved_by"]) for r in audit["data"]] == [
        ("update_record", bob["id"], "Dana")
    ]
    again = api.post(RUNS, data={"rules": CRM_RULES, "left": "platform:customers",
                                 "right": str(crm)}).json()  # fmt: skip
    found = api.get(f"{RUNS}/{again['id']}/diff", params={"against": run["id"]}).json()
    assert [b["object_id"] for b in found["resolved"]] == [bob["id"]] and found["new"] == []


def test_an_idempotency_key_replays_the_run_rather_than_running_it_again(
    api: httpx.Client, tmp_path: Path
) -> None:
    _, platform, statement = write_inputs(tmp_path)
    body = {"rules": RULES, "left": str(platform), "right": str(statement)}
    first = api.post(RUNS, data=body, headers={"Idempotency-Key": "month-end"})
    again = api.post(RUNS, data=body, headers={"Idempotency-Key": "month-end"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert [run["id"] for run in api.get(RUNS).json()["data"]] == [first.json()["id"]]


def test_the_api_reads_no_file_outside_its_roots(
    api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    monkeypatch.setenv("REMIT_RECONCILE_ROOTS", str(tmp_path / "inside"))
    answer = api.post(RUNS, data={"rules": RULES, "left": f"file:{outside}/a.csv",
                                  "right": "file:/etc/passwd"})  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "source_not_allowed"
    assert answer.json()["error"]["param"] == "left"
    assert api.get(RUNS).json()["data"] == []
