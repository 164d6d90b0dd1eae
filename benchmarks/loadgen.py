"""Closed-loop load: C client processes, each with one request in flight at a time.

Two drivers send the same requests:
- "sdk": the official stripe-python client, as an integrator would call it;
- "raw": stdlib http.client on a keep-alive connection, sending the same form-encoded body
  and headers, so that less of the 2-core box goes to client-side work and more to the
  server being measured.

Every client stops at a shared deadline or at its share of the phase's op bound, whichever
comes first. time.perf_counter is CLOCK_MONOTONIC on Linux, so instants taken in different
client processes are comparable.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import multiprocessing
import random
import signal
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import stripe

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams

MODES = ("sdk", "raw")
OPS = ("create", "retrieve")
REQUEST_TIMEOUT_S = 10.0
START_LEAD_S = 1.5  # time for clients to fork, connect and warm up before the clock starts
WARMUP_OPS = 3  # per client, not recorded
MAX_ERROR_SAMPLES = 3
ERROR_PAUSE_S = 0.01
MAX_RETRIEVE_IDS = 20_000  # ids handed to each retrieve client, sampled from those created


@dataclasses.dataclass(frozen=True)
class PhaseSpec:
    mode: str
    op: str
    base_url: str
    api_key: str
    clients: int
    duration_s: float
    max_ops: int
    ids: tuple[str, ...] = ()


@dataclasses.dataclass
class ClientResult:
    latencies_ms: list[float]
    created_ids: list[str]
    errors: int
    error_samples: list[str]
    end_ts: float
    cpu_s: float
    crashed: bool = False


@dataclasses.dataclass(frozen=True)
class PhaseResult:
    spec: PhaseSpec
    ops: int
    errors: int
    wall_s: float
    p50_ms: float
    p99_ms: float
    client_cpu_s: float
    created_ids: tuple[str, ...]
    error_samples: tuple[str, ...]
    crashed_clients: int
    server_cpu_s: float

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def error_rate(self) -> float:
        attempts = self.ops + self.errors
        return self.errors / attempts if attempts else 1.0


class Driver(Protocol):
    def create(self, params: dict[str, Any]) -> str: ...
    def retrieve(self, customer_id: str) -> None: ...


class SdkDriver:
    def __init__(self, base_url: str, api_key: str) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url},
            max_network_retries=0,
            # The SDK's default client (requests, keep-alive) but with a bounded timeout.
            http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_S),
        )

    def create(self, params: dict[str, Any]) -> str:
        typed = cast("CustomerCreateParams", params)
        return str(self._client.v1.customers.create(params=typed).id)

    def retrieve(self, customer_id: str) -> None:
        customer = self._client.v1.customers.retrieve(customer_id)
        if customer.id != customer_id:
            raise RuntimeError(f"asked for {customer_id}, got {customer.id}")


class RawDriver:
    """One keep-alive connection, the SDK's form body and headers, nothing else.

    stdlib http.client rather than httpx: on this box httpx spent ~300 us of client CPU per
    request against ~50 us for http.client, and every client microsecond is taken from the
    server being measured.
    """

    def __init__(self, base_url: str, api_key: str) -> None:
        url = urllib.parse.urlsplit(base_url)
        assert url.scheme == "http" and url.hostname and url.port, base_url
        self._conn = http.client.HTTPConnection(url.hostname, url.port, timeout=REQUEST_TIMEOUT_S)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Stripe-Version": stripe.api_version,
            "User-Agent": "remit-benchmarks-raw/1",
        }

    def create(self, params: dict[str, Any]) -> str:
        headers = {
            **self._headers,
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": str(uuid.uuid4()),  # the SDK sends one on every POST
        }
        return str(self._request("POST", "/v1/customers", form_encode(params), headers)["id"])

    def retrieve(self, customer_id: str) -> None:
        body = self._request("GET", f"/v1/customers/{customer_id}", None, self._headers)
        if body.get("id") != customer_id:
            raise RuntimeError(f"asked for {customer_id}, got {body.get('id')}")

    def _request(
        self, method: str, path: str, body: str | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            payload = response.read()  # always drain, so the connection can be reused
        except (OSError, http.client.HTTPException):
            self._conn.close()  # the next request reconnects
            raise
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
        decoded = json.loads(payload)
        assert isinstance(decoded, dict), decoded
        return decoded


def form_encode(params: dict[str, Any]) -> str:
    """Stripe's form encoding for flat and one-level nested params: metadata[k]=v."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, dict):
            pairs.extend((f"{key}[{sub}]", str(v)) for sub, v in value.items())
        else:
            pairs.append((key, str(value)))
    return urllib.parse.urlencode(pairs, safe="[]")


def customer_params(client_index: int, seq: int) -> dict[str, Any]:
    tag = f"{client_index}-{seq}"
    return {
        "email": f"bench-{tag}@example.com",
        "name": f"Bench Customer {tag}",
        "metadata": {"bench_client": str(client_index), "bench_seq": str(seq)},
    }


def run_phase(spec: PhaseSpec, server_cpu_s: Callable[[], float]) -> PhaseResult:
    """Fork spec.clients client processes, collect and merge their results.

    server_cpu_s is read when the clock starts and again once every client is done, so the
    server's CPU is charged for the measured window only (not for forking and warm-up).
    """
    assert spec.mode in MODES and spec.op in OPS, spec
    assert spec.op == "create" or spec.ids, "retrieve needs ids to fetch"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_ts = time.perf_counter() + START_LEAD_S
    procs = [
        ctx.Process(target=_client_main, args=(spec, i, start_ts, queue), daemon=True)
        for i in range(spec.clients)
    ]
    for proc in procs:
        proc.start()
    try:
        time.sleep(max(0.0, start_ts - time.perf_counter()))
        cpu_start_s = server_cpu_s()
        limit_s = spec.duration_s + REQUEST_TIMEOUT_S + 30.0
        results: list[ClientResult] = [queue.get(timeout=limit_s) for _ in procs]
        cpu_used_s = server_cpu_s() - cpu_start_s
    finally:
        for proc in procs:
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5.0)
    return _merge(spec, start_ts, results, cpu_used_s)


def _client_main(spec: PhaseSpec, client_index: int, start_ts: float, queue: Any) -> None:
    # Ctrl-C is the parent's to handle: it stops the clients, then the servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        queue.put(_run_client(spec, client_index, start_ts))
    except Exception as exc:  # report instead of leaving the parent waiting on queue.get
        where = traceback.extract_tb(exc.__traceback__)[-1]
        sample = f"client crashed at {where.name}:{where.lineno}: {type(exc).__name__}: {exc}"
        queue.put(ClientResult([], [], 0, [sample[:300]], time.perf_counter(), 0.0, crashed=True))


def _run_client(spec: PhaseSpec, client_index: int, start_ts: float) -> ClientResult:
    driver: Driver = (SdkDriver if spec.mode == "sdk" else RawDriver)(spec.base_url, spec.api_key)
    rng = random.Random(client_index)
    quota = math.ceil(spec.max_ops / spec.clients)
    result = ClientResult([], [], 0, [], 0.0, 0.0)
    seq = 0

    def one_op() -> None:
        nonlocal seq
        if spec.op == "create":
            seq += 1
            result.created_ids.append(driver.create(customer_params(client_index, seq)))
        else:
            driver.retrieve(rng.choice(spec.ids))

    for _ in range(WARMUP_OPS):
        one_op()
    time.sleep(max(0.0, start_ts - time.perf_counter()))
    cpu_start_s = time.process_time()
    deadline_ts = start_ts + spec.duration_s
    while len(result.latencies_ms) + result.errors < quota:
        began = time.perf_counter()
        if began >= deadline_ts:
            break
        try:
            one_op()
        except Exception as exc:  # counted and sampled; the run goes on
            result.errors += 1
            if len(result.error_samples) < MAX_ERROR_SAMPLES:
                result.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
            time.sleep(ERROR_PAUSE_S)  # a dead server must not turn the client into a spin loop
            continue
        result.latencies_ms.append((time.perf_counter() - began) * 1000.0)
    result.end_ts = time.perf_counter()
    result.cpu_s = time.process_time() - cpu_start_s
    return result


def _merge(
    spec: PhaseSpec, start_ts: float, results: list[ClientResult], server_cpu_s: float
) -> PhaseResult:
    latencies = sorted(ms for r in results for ms in r.latencies_ms)
    created = tuple(i for r in results for i in r.created_ids)
    return PhaseResult(
        spec=spec,
        ops=len(latencies),
        errors=sum(r.errors for r in results),
        wall_s=max(r.end_ts for r in results) - start_ts,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        client_cpu_s=sum(r.cpu_s for r in results),
        created_ids=created,
        error_samples=tuple(s for r in results for s in r.error_samples)[:MAX_ERROR_SAMPLES],
        crashed_clients=sum(r.crashed for r in results),
        server_cpu_s=server_cpu_s,
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN when nothing succeeded."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def sample_ids(ids: tuple[str, ...], seed: int = 0) -> tuple[str, ...]:
    if len(ids) <= MAX_RETRIEVE_IDS:
        return ids
    return tuple(random.Random(seed).sample(ids, MAX_RETRIEVE_IDS))
