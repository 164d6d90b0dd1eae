"""The plugin framework: built-ins always, installed plugins only when allowed, routes by hook."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import httpx
import pytest

from remit.api.app import RemitApp
from remit.api.params import Int, Schema, Str
from remit.api.routing import Route
from remit.plugins import manager
from remit.plugins.hookspecs import hookimpl
from remit.primitives.clock import WallClock
from remit.serving import ServerThread


class EchoPlugin:
    """A third-party plugin serving a JSON (v2-style) route."""

    @hookimpl
    def remit_api_routes(self) -> list[Route]:
        def echo(conn, ctx, params):
            return {"object": "echo", "account": ctx.account_id, "received": params}

        schema = Schema({"note": Str(), "count": Int(min=0)}, required=("note",))
        return [Route("POST", "/v2/test/echo", echo, schema)]


ECHO = EchoPlugin()


def _fake_entry_points(monkeypatch, plugins: dict[str, object]) -> None:
    points = [
        EntryPoint(name=name, value=f"tests:{name}", group=manager.ENTRY_POINT_GROUP)
        for name in plugins
    ]
    monkeypatch.setattr(manager, "entry_points", lambda group: points)
    monkeypatch.setattr(EntryPoint, "load", lambda self: plugins[self.name])


def test_built_ins_register_through_the_same_hooks():
    pm = manager.make_manager()
    assert set(manager.BUILTINS) <= {name for name, _ in pm.list_name_plugin()}
    kinds = manager.job_handlers(pm)
    assert {"webhook.deliver", "test_clock.advance"} <= kinds.keys()


def test_installed_plugins_load_only_when_allowed(monkeypatch):
    _fake_entry_points(monkeypatch, {"echo": ECHO})
    assert ECHO not in manager.make_manager().get_plugins()
    assert ECHO in manager.make_manager(frozenset({"echo"})).get_plugins()


def test_allowing_a_plugin_that_is_not_installed_is_an_error(monkeypatch):
    _fake_entry_points(monkeypatch, {})
    with pytest.raises(manager.PluginNotInstalled, match="nope"):
        manager.make_manager(frozenset({"nope"}))


def test_a_plugin_route_takes_json_on_v2(monkeypatch, store, account):
    _fake_entry_points(monkeypatch, {"echo": ECHO})
    app = RemitApp(store, manager.make_manager(frozenset({"echo"})), WallClock())
    headers = {"Authorization": f"Bearer {account.secret_key}"}
    with ServerThread(app) as server, httpx.Client(base_url=server.url, headers=headers) as client:
        ok = client.post("/v2/test/echo", json={"note": "hi", "count": 3})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {
            "object": "echo",
            "account": account.account.id,
            "received": {"note": "hi", "count": 3},
        }
        fraction = client.post("/v2/test/echo", json={"note": "hi", "count": 1.5})
        assert fraction.json()["error"]["param"] == "count"
        form = client.post("/v2/test/echo", data={"note": "hi"})
        assert form.status_code == 400 and "application/json" in form.json()["error"]["message"]
        broken = client.post(
            "/v2/test/echo", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400
        listed = client.post("/v2/test/echo", json=["note"])
        assert listed.status_code == 400
