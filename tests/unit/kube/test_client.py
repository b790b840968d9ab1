"""What a listed resource keeps: everything summaries read, without the bulk they never
read (managedFields, a run's log tail and cursor; one pending Event says "some"); API
errors as one line; every conditions patch carries kstatus's Reconciling and Stalled."""

from __future__ import annotations

from ads_operator.kube.wire import listed


def test_a_listed_run_keeps_what_summaries_read_and_drops_the_bulk() -> None:
    run = {
        "metadata": {"name": "r", "uid": "u", "managedFields": [{"manager": "x"}]},
        "spec": {"jobRef": {"name": "j"}},
        "status": {
            "phase": "Running",
            "timeFinished": None,
            "logTail": [{"time": "t", "message": "m"}] * 50,
            "logCursor": {"watermark": "t"},
            "logPending": [{"name": "a"}, {"name": "b"}],
        },
    }
    item = listed(run)
    assert item["metadata"] == {"name": "r", "uid": "u"}
    assert item["spec"] == {"jobRef": {"name": "j"}}
    assert item["status"] == {
        "phase": "Running",
        "timeFinished": None,
        "logPending": [{"name": "a"}],
    }
    assert listed({"metadata": {"name": "j"}}) == {"metadata": {"name": "j"}}  # a job


def test_api_errors_are_one_line_with_the_apiservers_message() -> None:
    """Issue 17: a refused scheduled run was logged as the client's HTTP dump."""
    import kubernetes

    from ads_operator.kube.wire import error_text

    exc = kubernetes.client.ApiException(status=422, reason="Unprocessable Entity")
    exc.body = '{"kind":"Status","message":"metadata.labels: Invalid value: \\"x\\""}'
    assert error_text(exc) == '422 Unprocessable Entity: metadata.labels: Invalid value: "x"'
    exc.body = "not json"
    assert error_text(exc) == "422 Unprocessable Entity"
    assert error_text(ValueError("a\nb")) == "ValueError: a"


def _client_over(custom: object) -> object:
    """A KubeClient whose CustomObjectsApi is ``custom`` (no apiserver, no thread pools
    of its own: calls run in the loop's default executor)."""
    from concurrent.futures import ThreadPoolExecutor

    import kubernetes

    from ads_operator.kube.client import KubeClient

    client = KubeClient(
        kubernetes.client.ApiClient(),
        event_threads=ThreadPoolExecutor(1),
        state_threads=ThreadPoolExecutor(1),
    )
    client._custom = custom
    return client


async def test_the_clients_errors_become_kube_errors_and_expected_ones_answers() -> None:
    """Use cases test ``KubeError.status`` only: 404 on a read is None, 409 on a create is
    "exists", a uid precondition that failed is "gone"; anything else is raised as a
    KubeError with the apiserver's message."""
    import json

    import kubernetes
    import pytest

    from ads_operator.kube.port import KubeError

    def refuse(status: int, message: str = "") -> kubernetes.client.ApiException:
        exc = kubernetes.client.ApiException(status=status, reason="Reason")
        exc.body = json.dumps({"message": message})
        return exc

    class Custom:
        answers: dict[str, kubernetes.client.ApiException] = {}

        def __getattr__(self, call: str) -> object:
            def answer(*_: object, **__: object) -> object:
                raise self.answers[call]

            return answer

    custom = Custom()
    client = _client_over(custom)
    custom.answers["get_namespaced_custom_object"] = refuse(404)
    assert await client.get_resource("p", "ns", "n") is None  # type: ignore[attr-defined]
    custom.answers["create_namespaced_custom_object"] = refuse(409)
    assert await client.create_resource("p", "ns", {}) is False  # type: ignore[attr-defined]
    custom.answers["delete_namespaced_custom_object"] = refuse(409)
    assert await client.delete_resource("p", "ns", "n", "uid") is False  # type: ignore[attr-defined]
    custom.answers["get_namespaced_custom_object"] = refuse(403, "no get right")
    with pytest.raises(KubeError) as refused:
        await client.get_resource("p", "ns", "n")  # type: ignore[attr-defined]
    assert (refused.value.status, refused.value.message) == (403, "no get right")
    custom.answers["patch_namespaced_custom_object_status"] = refuse(409, "modified")
    with pytest.raises(KubeError) as conflict:
        await client.patch_status("p", "ns", "n", {}, resource_version="1")  # type: ignore[attr-defined]
    assert conflict.value.status == 409
    custom.answers["patch_namespaced_custom_object_status"] = refuse(404)
    await client.patch_status("p", "ns", "gone", {})  # type: ignore[attr-defined]


async def test_every_conditions_patch_carries_reconciling_and_stalled() -> None:
    """The client is where every status write passes: a patch of a run's conditions
    leaves it with kstatus's two conditions; one without conditions goes as it was."""
    from typing import Any

    sent: list[dict[str, Any]] = []

    class Answer:  # an answer left unparsed, as the client asks for
        def read(self) -> None: ...

        def release_conn(self) -> None: ...

    class Custom:
        def patch_namespaced_custom_object_status(self, *args: Any, **_: Any) -> object:
            sent.append(args[-1]["status"])
            return Answer()

    client = _client_over(Custom())
    failed = {"type": "Failed", "status": "True", "reason": "ExitCode3", "message": "exit 3"}
    await client.patch_status("datasciencejobruns", "ns", "r", {"conditions": [failed]})  # type: ignore[attr-defined]
    await client.patch_status("datasciencejobruns", "ns", "r", {"logCursor": "c"})  # type: ignore[attr-defined]
    types = {c["type"]: (c["status"], c["reason"]) for c in sent[0]["conditions"]}
    assert types["Stalled"] == ("True", "ExitCode3")
    assert types["Reconciling"] == ("False", "ExitCode3")
    assert sent[1] == {"logCursor": "c"}


def test_a_conditions_patch_is_a_json_patch_testing_the_list_it_was_computed_from() -> None:
    """Other fields keep their merge patch meaning (set whole, or removed when None); the
    conditions are replaced only while the stored list is ``base`` (null: none yet)."""
    from ads_operator.kube.wire import conditions_swap

    ready = {"type": "Ready", "status": "True"}
    patch = {"phase": "Running", "progress": None, "logCursor": {"a": 1, "b": None}}
    ops = conditions_swap({**patch, "conditions": [ready]}, [])
    assert ops == [
        {"op": "add", "path": "/status/phase", "value": "Running"},
        {"op": "add", "path": "/status/progress", "value": None},
        {"op": "remove", "path": "/status/progress"},
        {"op": "add", "path": "/status/logCursor", "value": {"a": 1}},
        {"op": "test", "path": "/status/conditions", "value": None},
        {"op": "add", "path": "/status/conditions", "value": [ready]},
    ]
    assert conditions_swap({"conditions": [ready]}, [ready])[0] == {
        "op": "test",
        "path": "/status/conditions",
        "value": [ready],
    }


async def test_a_failed_test_reads_once_and_writes_the_merged_list_onto_that_version() -> None:
    """A 422 for the JSON patch: the conditions moved on (another manager added one). One
    read, this writer's change redone on the stored list, a merge patch onto that version;
    the list written comes back (the next write's base)."""
    import json
    from typing import Any

    import kubernetes

    audited = {"type": "Audited", "status": "True", "reason": "Reviewed"}
    stored = {"metadata": {"resourceVersion": "7"}, "status": {"conditions": [audited]}}
    sent: list[tuple[str, Any]] = []

    class Answer:
        def read(self) -> None: ...

        def release_conn(self) -> None: ...

    class Custom:
        def patch_namespaced_custom_object_status(self, *args: Any, **kw: Any) -> object:
            sent.append((kw["_content_type"], args[-1]))
            if len(sent) == 1:
                exc = kubernetes.client.ApiException(status=422, reason="Unprocessable Entity")
                exc.body = json.dumps({"reason": "Invalid", "message": "test failed"})
                raise exc
            return Answer()

        def get_namespaced_custom_object(self, *_: Any) -> object:
            return stored

    client = _client_over(Custom())
    ready = {"type": "Ready", "status": "True", "reason": "Running", "message": ""}
    written = await client.patch_status(  # type: ignore[attr-defined]
        "datasciencejobs", "ns", "j", {"conditions": [ready]}, conditions_from=[]
    )
    assert [kind for kind, _ in sent] == [
        "application/json-patch+json",
        "application/merge-patch+json",
    ]
    merged = sent[1][1]
    assert merged["metadata"] == {"resourceVersion": "7"}
    types = [c["type"] for c in merged["status"]["conditions"]]
    assert types[:2] == ["Audited", "Ready"], types
    assert written == merged["status"]["conditions"]
