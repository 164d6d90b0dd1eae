"""Events as a built-in plugin: delivery jobs and expandable events/endpoints."""

from __future__ import annotations

from typing import Any

import pluggy
import sqlalchemy as sa

from remit.events import delivery, endpoints, service
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_job_handlers(pm: pluggy.PluginManager) -> dict[str, Any]:
    return {service.DELIVERY_JOB: delivery.deliver}


def _endpoint(conn: sa.Connection, account_id: str, endpoint_id: str) -> dict[str, Any]:
    return endpoints.render(endpoints.load(conn, account_id, endpoint_id))


@hookimpl
def remit_object_loaders() -> dict[str, Any]:
    return {"evt": service.retrieve, "we": _endpoint}
