"""Issue 22: the job's handlers meet a Kubernetes API that keeps failing after the
adapter's retries (``FakeKube.refuse``). Each pass says so (a ``KubernetesAPIError``
Warning Event; the reconcile also ``Synced=False`` when the status can be written),
returns a RetryAfter that backs off, and loses nothing: no exception reaches kopf, no
second OCI job, the Events of what OCI did are posted once."""

from __future__ import annotations

from ads_operator.models import JOB_PLURAL, RUN_PLURAL
from ads_operator.usecases import api_trouble, job, job_delete, job_resync
from ads_operator.usecases import run as run_usecase
from ads_operator.usecases.outcome import Done, RetryAfter
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.fake_oci import FakePort
from tests.fixtures.fake_operator import fake_operator
from tests.unit.usecases.test_job import NS, cluster, condition, current
from tests.unit.usecases.test_job_resync import job as resync_job
from tests.unit.usecases.test_job_resync import oci_job


async def test_a_source_the_api_server_will_not_give_is_synced_false_and_backs_off() -> None:
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    kube.refuse.add("read_configmap")
    first = await job.reconcile(op, current(kube), retry=0)
    later = await job.reconcile(op, current(kube), retry=3)
    assert isinstance(first, RetryAfter)
    assert isinstance(later, RetryAfter)
    assert first.delay >= 1  # at least the API server's Retry-After
    assert later.delay > first.delay  # backs off attempt after attempt
    assert "429" in first.message
    assert condition(kube, "Synced") == ("False", api_trouble.REASON)
    assert kube.reasons() == [api_trouble.REASON, api_trouble.REASON]
    assert all(e.type == "Warning" for e in kube.events)
    assert port.calls["create_job"] == 0
    kube.refuse.clear()
    assert await job.reconcile(op, current(kube), retry=4) == Done()
    assert condition(kube, "Synced") == ("True", "Synced")


async def test_a_created_job_whose_ocid_could_not_be_saved_is_saved_later_once() -> None:
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    kube.refuse.add("patch_status")
    outcome = await job.reconcile(op, current(kube), retry=0)
    assert isinstance(outcome, RetryAfter)
    assert port.calls["create_job"] == 1
    assert "ocid" not in kube.status_of(JOB_PLURAL, NS, "hello")
    # The Event of what OCI did is posted although the pass failed after it.
    assert kube.reasons() == ["Created", api_trouble.REASON]
    again = await job.reconcile(op, current(kube), retry=1)  # the outage goes on
    assert isinstance(again, RetryAfter)
    kube.refuse.clear()
    assert await job.reconcile(op, current(kube), retry=2) == Done()
    (made,) = port.jobs.values()
    assert kube.status_of(JOB_PLURAL, NS, "hello")["ocid"] == made.id
    assert port.calls["create_job"] == 1  # found by its tags every time
    assert kube.reasons().count("Created") == 1  # posted again under its name: the same one
    assert condition(kube, "Ready") == ("True", "Active")


async def test_a_created_job_found_after_a_crash_gets_its_created_event() -> None:
    """Before, an OCID lost with its pass also lost the job's Created Event."""
    kube, port, _ = cluster()
    op = fake_operator(kube, port)
    kube.refuse.add("post_event")  # the first pass's Events are lost with it
    kube.refuse.add("patch_status")
    await job.reconcile(op, current(kube), retry=0)
    kube.refuse.clear()
    assert await job.reconcile(op, current(kube), retry=1) == Done()
    assert kube.reasons() == ["Created", "Ready"]


async def test_the_timer_says_the_api_server_failed_and_posts_what_it_did() -> None:
    kube, port = FakeKube(), FakePort()
    op = fake_operator(kube, port)
    ocid = await oci_job(port, "t1")
    resync_job(kube, {"ocid": ocid, "lifecycleState": "CREATING"})
    kube.refuse.add("list_resources")
    body = kube.objects[(JOB_PLURAL, NS, "hello")]
    assert await job_resync.resync(op, body) is None  # no exception for kopf's timer
    assert kube.reasons() == [api_trouble.REASON]
    assert f"in {op.settings.job_resync_interval:g} s" in kube.events[0].message
    assert kube.status_of(JOB_PLURAL, NS, "hello")["lifecycleState"] == "CREATING"
    kube.refuse.clear()
    await job_resync.resync(op, body)
    assert kube.status_of(JOB_PLURAL, NS, "hello")["lifecycleState"] == "ACTIVE"


async def test_a_deletion_the_api_server_fails_keeps_waiting_and_says_so() -> None:
    kube, port = FakeKube(), FakePort()
    op = fake_operator(kube, port)
    ocid = await oci_job(port, "d1")
    body = resync_job(kube, {"ocid": ocid}, authSecretRef={"name": "creds"})
    kube.secrets[(NS, "creds")] = {"config": b"x"}
    kube.refuse.add("read_secret")
    outcome = await job_delete.delete(op, body, retry=2)
    assert isinstance(outcome, RetryAfter)
    assert outcome.delay > 1
    assert kube.reasons() == [api_trouble.REASON]
    assert port.calls["delete_job"] == 0
    kube.refuse.clear()
    await job_delete.delete(op, body, retry=3)  # waits for OCI to delete it now
    assert port.calls["delete_job"] == 1


async def test_a_run_deletion_the_api_server_fails_keeps_waiting_and_says_so() -> None:
    kube, port = FakeKube(), FakePort()
    op = fake_operator(kube, port)
    body = kube.add(
        RUN_PLURAL,
        {
            "apiVersion": "ads.oci.dev/v1alpha1",
            "kind": "DataScienceJobRun",
            "metadata": {"name": "run-1", "namespace": NS},
            "spec": {"jobRef": {"name": "hello"}},
            "status": {"ocid": "ocid1.datasciencejobrun.oc1..gone"},
        },
    )
    kube.refuse.add("get_resource")
    outcome = await run_usecase.delete(op, body, retry=0)
    assert isinstance(outcome, RetryAfter)
    assert kube.reasons() == [api_trouble.REASON]
    assert "deleting" in kube.events[0].message


async def test_a_finished_runs_daemon_waits_out_the_api_server_before_its_ttl() -> None:
    """Before, a finished run's daemon (started anew after every restart) crashed into
    kopf when its runPolicy could not be read, and kopf restarted it every 5 s."""
    from tests.unit.usecases.test_run_usecase import Stop, add_job, add_run

    kube, port = FakeKube(), FakePort()
    op = fake_operator(kube, port)
    add_job(kube)
    add_run(kube, runPolicy={"ttlSecondsAfterFinished": 0})
    kube.objects[(RUN_PLURAL, NS, "run-1")]["status"] = {
        "phase": "Succeeded",
        "lifecycleState": "SUCCEEDED",
        "timeFinished": "2026-11-26T09:00:00Z",
        "conditions": [{"type": "Finished", "status": "True", "reason": "Succeeded"}],
    }
    kube.refuse.add("get_resource")

    def lifted(pauses: int) -> None:
        if pauses == 2:
            kube.refuse.clear()

    stop = Stop(lifted)
    await run_usecase.watch(op, kube.objects[(RUN_PLURAL, NS, "run-1")], stop)
    assert stop.delays[1] > stop.delays[0]  # backs off
    assert (RUN_PLURAL, NS, "run-1") not in kube.objects  # expired once readable
