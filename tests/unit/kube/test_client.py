"""What a listed resource keeps: everything summaries read, without the bulk they never
read (managedFields, a run's log tail and cursor; one pending Event says "some"); API
errors as one line."""

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
