"""Log lines mirrored exactly once although the operator is SIGKILLed right after it
posted log Events: the moment between posting lines and persisting the log cursor,
where a crash can double them or, with the opposite order, lose them."""

from __future__ import annotations

import kubernetes

from tests.chaos.conftest import Chaos
from tests.chaos.test_crash import EXIT_CODES
from tests.chaos.workload import (
    assert_each_line_once,
    assert_exactly_once,
    code_configmap,
    log_events,
    oci_log_lines,
    run_manifest,
    wait_settled,
)
from tests.fixtures.cluster import Cluster
from tests.fixtures.operator import OperatorProcess


def wait_for_event_and_kill(
    cluster: Cluster, namespace: str, reason: str, nth: int, operator: OperatorProcess
) -> None:
    """SIGKILL the operator the moment the ``nth`` Event with ``reason`` (counted over the
    namespace) is created, then start it again. A watch sees the Event within
    milliseconds, before the operator's next status patch in the usual case."""
    api = kubernetes.client.CoreV1Api(
        kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))
    )
    listed = api.list_namespaced_event(namespace)
    seen = sum(1 for e in listed.items if e.reason == reason)
    watch = kubernetes.watch.Watch()
    if seen < nth:
        for change in watch.stream(
            api.list_namespaced_event,
            namespace,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=90,
        ):
            if change["type"] == "ADDED" and change["object"].reason == reason:
                seen += 1
                if seen >= nth:
                    watch.stop()
                    break
    assert seen >= nth, f"only {seen} {reason} Events in 90 s\n{operator.log[-2000:]}"
    operator.kill()
    operator.start()


def test_log_lines_are_mirrored_once_across_sigkills(chaos: Chaos) -> None:
    """SIGKILL as soon as a seeded k-th ``LogLines`` Event appears (seen through a watch),
    i.e. between posting lines and persisting the log cursor; then each OCI log line must
    still be in the Events exactly once."""
    cluster, namespace = chaos.cluster, chaos.namespace
    operator = chaos.start_operator(namespace, POLL_INTERVAL="0.5")
    runs = {f"talk-{i}": chaos.rng.choice(EXIT_CODES) for i in range(4)}
    docs: list[dict[str, object]] = [code_configmap(), chaos.job("talk")]
    docs += [run_manifest(n, "talk", seconds=10.0, exit_code=c) for n, c in runs.items()]
    kill_after = sorted(chaos.rng.sample(range(1, 9), 3))  # far fewer than 4 runs of 10 s post
    print(f"seed {chaos.seed}: SIGKILL after LogLines Events {kill_after}")
    chaos.apply(docs)
    for k in kill_after:
        wait_for_event_and_kill(cluster, namespace, "LogLines", k, operator)
    settled_runs = wait_settled(
        cluster, namespace, runs, timeout=120, log=lambda: operator.log[-3000:]
    )
    assert_exactly_once(cluster, namespace, chaos.oci, settled_runs, runs)
    assert_each_line_once(log_events(cluster, namespace), oci_log_lines(chaos.oci, settled_runs))
