"""Issue 22: the Kubernetes adapter retries what failed transiently and may be sent again
(429 with its Retry-After, a lost connection, a 5xx), within a bounded number of tries
and a total budget; a call that is not idempotent is retried only when it certainly was
not carried out. Classification over the client's own exceptions; the loop and
:class:`KubeClient` over fakes (no apiserver, no real sleeping)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes
import pytest
import urllib3

from ads_operator.kube.client import KubeClient
from ads_operator.kube.errors import kube_error, retryable
from ads_operator.kube.events import EventPoster
from ads_operator.kube.port import KubeError, ObjectReference
from ads_operator.kube.retry import RetryPolicy, retrying
from ads_operator.reconcile.events import RepeatLimiter
from tests.fixtures.fake_kube import FakeKube

INVOLVED: ObjectReference = {
    "apiVersion": "ads.oci.dev/v1alpha1",
    "kind": "DataScienceJobRun",
    "name": "r",
    "namespace": "ns",
    "uid": "u",
}


def api_exception(status: int, *, retry_after: str | None = None, body: Any = None) -> Any:
    exc = kubernetes.client.ApiException(status=status, reason="Reason")
    exc.body = json.dumps(body or {"message": f"answer {status}"})
    exc.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return exc


def reset() -> urllib3.exceptions.ProtocolError:
    return urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
    )


def refused() -> urllib3.exceptions.MaxRetryError:
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", 1)
    cause = urllib3.exceptions.NewConnectionError(pool, "Connection refused")  # type: ignore[arg-type]
    return urllib3.exceptions.MaxRetryError(pool, "/api", cause)


def test_the_clients_failures_are_classified_in_one_place() -> None:
    throttled = kube_error(api_exception(429, retry_after="3"))
    assert (throttled.status, throttled.retry_after, throttled.message) == (429, 3.0, "answer 429")
    apf = kube_error(api_exception(429, body={"details": {"retryAfterSeconds": 2}}))
    assert apf.retry_after == 2.0  # no header: the Status's details say it
    lost = kube_error(reset())
    assert (lost.status, lost.reason, lost.unsent) == (0, "ConnectionLost", False)
    assert "Connection aborted" in lost.message
    unreachable = kube_error(refused())
    assert (unreachable.status, unreachable.reason, unreachable.unsent) == (
        0,
        "ConnectionFailed",
        True,
    )
    gave_up = kube_error(urllib3.exceptions.MaxRetryError(None, "/api", reset()))  # type: ignore[arg-type]
    assert (gave_up.reason, gave_up.unsent) == ("ConnectionLost", False)
    slow = kube_error(urllib3.exceptions.ReadTimeoutError(None, "/api", "read timed out"))  # type: ignore[arg-type]
    assert (slow.reason, slow.unsent) == ("Timeout", False)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (KubeError(429, retry_after=1), False, True),  # APF refused it before doing anything
        (KubeError(0, "ConnectionFailed", unsent=True), False, True),  # never sent
        (KubeError(0, "ConnectionLost"), True, True),
        (KubeError(0, "ConnectionLost"), False, False),  # it may have been done: not twice
        (KubeError(503), True, True),
        (KubeError(500), False, False),
        (KubeError(404), True, False),
        (KubeError(409), True, False),
        (KubeError(403), True, False),
        (KubeError(422), True, False),
    ],
)
def test_what_may_be_sent_again(error: KubeError, idempotent: bool, expected: bool) -> None:
    assert retryable(error, idempotent=idempotent) is expected


class Failing:
    """A call that raises ``errors`` in turn, then answers "ok"; the sleeps it caused."""

    def __init__(self, *errors: KubeError) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.slept: list[float] = []
        self.now = 0.0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def retry(self, policy: RetryPolicy, *, idempotent: bool = True) -> Any:
        return retrying(
            self,
            idempotent=idempotent,
            policy=policy,
            what="a call",
            sleep=self.sleep,
            clock=lambda: self.now,
            rng=random.Random(1),
        )


async def test_retry_after_is_honoured_and_bounded() -> None:
    call = Failing(KubeError(429, retry_after=3), KubeError(429, retry_after=600))
    assert await call.retry(RetryPolicy(max_retry_after=10, budget=60)) == "ok"
    assert call.slept == [3, 10]
    assert call.calls == 3


async def test_backoff_grows_and_stays_under_its_cap() -> None:
    call = Failing(*[KubeError(0, "ConnectionLost")] * 5)
    assert await call.retry(RetryPolicy(attempts=6, base=1, cap=4, budget=100)) == "ok"
    assert len(call.slept) == 5
    assert all(0 <= s <= min(4, 2**n) for n, s in enumerate(call.slept))


async def test_the_last_error_reaches_the_caller_after_the_attempts_or_the_budget() -> None:
    tries = Failing(*[KubeError(503)] * 10)
    with pytest.raises(KubeError) as exhausted:
        await tries.retry(RetryPolicy(attempts=4, budget=100))
    assert (exhausted.value.status, tries.calls) == (503, 4)
    budget = Failing(*[KubeError(429, retry_after=4)] * 10)
    with pytest.raises(KubeError):
        await budget.retry(RetryPolicy(attempts=100, budget=10, max_retry_after=10))
    assert budget.slept == [4, 4]  # a third wait would end beyond the 10 s budget


async def test_refusals_and_ambiguous_failures_of_unsafe_calls_are_not_retried() -> None:
    for error, idempotent in ((KubeError(422), True), (KubeError(0, "ConnectionLost"), False)):
        call = Failing(error)
        with pytest.raises(KubeError):
            await call.retry(RetryPolicy(), idempotent=idempotent)
        assert (call.calls, call.slept) == (1, [])


class Api:
    """A ``CustomObjectsApi`` / ``CoreV1Api`` whose calls raise ``failures[name]`` in turn,
    then answer ``answer``; the calls made, by name."""

    def __init__(self, answer: Any = None) -> None:
        self.failures: dict[str, list[BaseException]] = {}
        self.calls: dict[str, int] = {}
        self.answer = answer

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*_: object, **__: object) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            pending = self.failures.get(name) or []
            if pending:
                raise pending.pop(0)
            return self.answer

        return call


class Answer:
    def read(self) -> bytes:
        return b"{}"

    def release_conn(self) -> None:
        pass


def client_over(api: Api) -> KubeClient:
    client = KubeClient(
        kubernetes.client.ApiClient(),
        event_threads=ThreadPoolExecutor(1),
        state_threads=ThreadPoolExecutor(1),
        retry=RetryPolicy(base=0.001, cap=0.001, max_retry_after=0.001),
    )
    client._custom = api
    client._core = api
    return client


async def test_the_client_retries_a_status_patch_through_429_and_resets() -> None:
    """Issue 22: one 429 or reset on a status patch crashed the run's daemon."""
    api = Api(Answer())
    api.failures["patch_namespaced_custom_object_status"] = [
        api_exception(429, retry_after="1"),
        reset(),
    ]
    await client_over(api).patch_status("datasciencejobruns", "ns", "r", {"phase": "Running"})
    assert api.calls["patch_namespaced_custom_object_status"] == 3


async def test_an_event_is_retried_after_a_reset_only_under_a_fixed_name() -> None:
    api = Api(Answer())
    client = client_over(api)
    api.failures["create_namespaced_event"] = [reset()]
    with pytest.raises(KubeError) as lost:
        await client.post_event(
            INVOLVED, type="Normal", reason="Created", message="m", component="c"
        )
    assert (lost.value.status, api.calls["create_namespaced_event"]) == (0, 1)
    # Named: the reset hid that the first create was done; the retry's 409 says so.
    api.failures["create_namespaced_event"] = [reset(), api_exception(409)]
    with pytest.raises(KubeError) as exists:
        await client.post_event(
            INVOLVED, type="Normal", reason="Created", message="m", component="c", name="r.evt.1"
        )
    assert (exists.value.status, api.calls["create_namespaced_event"]) == (409, 3)
    # A 429 was never carried out: even an unnamed Event is sent again.
    api.failures["create_namespaced_event"] = [api_exception(429)]
    await client.post_event(INVOLVED, type="Normal", reason="Created", message="m", component="c")
    assert api.calls["create_namespaced_event"] == 5


async def test_a_named_event_that_exists_already_was_posted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kube = FakeKube()
    poster = EventPoster(kube, RepeatLimiter())
    for _ in range(2):
        await poster.post(INVOLVED, reason="IN_PROGRESS", message="m", name="r.evt.1")
    assert kube.reasons() == ["IN_PROGRESS"]
    assert "could not post" not in caplog.text
