"""The chaos tier: the operator crashed, OCI failing, the control plane restarted, bad
input and leaked secrets. Every test here is marked ``chaos``.

Each test gets its own emulator process (simulate mode: runs are timelines, not host
processes, so dozens of them are cheap) on a fixed port with a file database, so it can
be crashed and restarted under a running operator. The operator authenticates with one
API key; the test reads the emulator's truth with a key of another tenancy, so the
emulator's request log tells the operator's calls from the test's.

Randomness comes from one seed: ``CHAOS_SEED`` (default :data:`DEFAULT_SEED`). A failure
report prints it; rerun with the same value to get the same kill points and fault dice.

A test takes ``chaos`` (:class:`Chaos`): its namespace, emulator, observer's view, log
group, seeded generator and a way to start operators against that emulator.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oci
import pytest
from hack.buildtools import bin_dirs
from hack.localcluster import free_port

from oci_emulator.testing import ApiKey, generate_api_key
from tests.chaos.emulator_process import ChaosEmulator
from tests.chaos.workload import (
    OciView,
    apply_all,
    code_configmap,
    job_manifest,
    new_compartment,
    run_manifest,
)
from tests.fixtures.apiproxy import ApiProxy
from tests.fixtures.cluster import Cluster, local_control_plane
from tests.fixtures.emulator import make_clients
from tests.fixtures.operator import (
    FAST_OPERATOR_SETTINGS,
    REPO,
    OperatorProcess,
    Operators,
    install_crds,
)
from tests.fixtures.waiting import wait_for

DEFAULT_SEED = 20261126
OBSERVER_TENANCY = "ocid1.tenancy.oc1..aaaaaaaachaosobservertenancy"
OBSERVER_USER = "ocid1.user.oc1..aaaaaaaachaosobserveruser"
#: Simulate mode (runs are timelines, not processes) with the short test timings.
EMULATOR_ARGS = (
    *("--mode", "simulate"),
    *("--accepted-seconds", "0.4"),
    *("--log-visibility-delay", "0"),
    *("--work-request-seconds", "0.2"),
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def chaos_seed() -> int:
    return int(os.environ.get("CHAOS_SEED", DEFAULT_SEED))


@pytest.fixture
def rng(chaos_seed: int, request: pytest.FixtureRequest) -> random.Random:
    """A generator per test, seeded from the tier's seed and the test's name."""
    return random.Random(f"{chaos_seed}:{request.node.name}")


@pytest.fixture(scope="session")
def observer_key(tmp_path_factory: pytest.TempPathFactory) -> ApiKey:
    return generate_api_key(
        tmp_path_factory.mktemp("observer-key"), tenancy=OBSERVER_TENANCY, user=OBSERVER_USER
    )


@pytest.fixture
def chaos_emulator(
    tmp_path: Path, emulator_api_key: ApiKey, observer_key: ApiKey
) -> Iterator[ChaosEmulator]:
    """A fresh emulator process in simulate mode; the test may ``restart()`` it."""
    handle = ChaosEmulator(
        port=free_port(),
        db_path=tmp_path / "oci.sqlite",
        keys=(emulator_api_key, observer_key),
        log_file=tmp_path / "emulator.log",
        extra_args=EMULATOR_ARGS,
    )
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def compartment() -> str:
    return new_compartment()


@pytest.fixture
def oci_view(chaos_emulator: ChaosEmulator, observer_key: ApiKey, compartment: str) -> OciView:
    return OciView(make_clients(observer_key.config, chaos_emulator.endpoint), compartment)


@pytest.fixture
def chaos_log_group(oci_view: OciView) -> str:
    """An ACTIVE log group in the test's compartment (jobs log into it)."""
    client = oci_view.clients.logging
    client.create_log_group(
        oci.logging.models.CreateLogGroupDetails(
            compartment_id=oci_view.compartment, display_name="chaos"
        )
    )

    def active() -> str | None:
        groups = client.list_log_groups(oci_view.compartment).data
        return groups[0].id if groups and groups[0].lifecycle_state == "ACTIVE" else None

    return wait_for(active, timeout=30, what="the chaos log group to become ACTIVE")


OperatorFactory = Callable[..., OperatorProcess]


@pytest.fixture
def start_operator(
    cluster: Cluster,
    operator_crds: None,
    chaos_emulator: ChaosEmulator,
    emulator_api_key: ApiKey,
    operators: Operators,
) -> OperatorFactory:
    """``start_operator(namespace, **settings)``: the operator against the chaos emulator.

    Settings are ``ADS_OPERATOR_*`` names without the prefix, e.g. ``POLL_INTERVAL="1"``.
    Every operator started is stopped after the test.
    """

    def start(
        *namespaces: str, cluster_: Cluster | None = None, **settings: str
    ) -> OperatorProcess:
        target = cluster_ or cluster
        env = target.env(
            {
                **FAST_OPERATOR_SETTINGS,
                "ADS_OPERATOR_OCI_ENDPOINT": chaos_emulator.endpoint,
                "ADS_OPERATOR_OCI_CONFIG_FILE": str(emulator_api_key.config_file),
                **{f"ADS_OPERATOR_{k}": v for k, v in settings.items()},
            }
        )
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "operator"), str(REPO)])
        return operators.start(tuple(namespaces), env)

    return start


@dataclass
class Chaos:
    """One chaos test's world: a namespace on the session's control plane, an emulator
    process of its own (the observer's view of it in ``oci``), an ACTIVE log group, the
    seeded generator, and ``start_operator``."""

    cluster: Cluster
    namespace: str
    emulator: ChaosEmulator
    oci: OciView
    log_group: str
    rng: random.Random
    seed: int
    start_operator: OperatorFactory

    def job(self, name: str) -> dict[str, Any]:
        """A job of the shared code in the test's compartment, logging to its log group."""
        return job_manifest(name, compartment=self.oci.compartment, log_group=self.log_group)

    def apply(self, docs: Iterable[dict[str, Any]], namespace: str | None = None) -> None:
        apply_all(self.cluster, namespace or self.namespace, docs)

    def workload(
        self,
        jobs: int,
        runs_per_job: int,
        *,
        exit_codes: Sequence[int],
        seconds: tuple[float, float],
        digits: int,
        **run: Any,
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The shared code, ``jobs`` jobs and ``runs_per_job`` runs of each (``job-J`` and
        ``job-J-run-R``), each run's exit code and seconds drawn from the seed; returns the
        manifests and the exit code each run must end with."""
        docs: list[dict[str, Any]] = [code_configmap()]
        expected: dict[str, int] = {}
        for j in range(jobs):
            job = f"job-{j}"
            docs.append(self.job(job))
            for r in range(runs_per_job):
                name = f"{job}-run-{r}"
                expected[name] = self.rng.choice(exit_codes)
                length = round(self.rng.uniform(*seconds), digits)
                docs.append(
                    run_manifest(name, job, seconds=length, exit_code=expected[name], **run)
                )
        return docs, expected


@pytest.fixture
def chaos(
    cluster: Cluster,
    namespace: str,
    chaos_emulator: ChaosEmulator,
    oci_view: OciView,
    chaos_log_group: str,
    rng: random.Random,
    chaos_seed: int,
    start_operator: OperatorFactory,
) -> Chaos:
    return Chaos(
        cluster, namespace, chaos_emulator, oci_view, chaos_log_group, rng, chaos_seed,
        start_operator,
    )  # fmt: skip


@dataclass(frozen=True)
class ProxiedCluster:
    """A test's own control plane (``cluster``: the test's calls go around the proxy),
    its :class:`ApiProxy`, and ``through_proxy``: the same cluster reached through it,
    for the operator."""

    cluster: Cluster
    proxy: ApiProxy
    through_proxy: Cluster


@contextlib.contextmanager
def proxied_control_plane(
    directory: Path,
    namespace: str,
    seed: int,
    *,
    etcd_flags: tuple[str, ...] = (),
    apiserver_flags: tuple[str, ...] = (),
) -> Iterator[ProxiedCluster]:
    """A control plane of a test's own (the proxy needs its PKI; flags of its own, such
    as compaction), the CRDs installed and ``namespace`` made, behind an
    :class:`ApiProxy` the operator is pointed at; all stopped after."""
    with local_control_plane(
        directory, etcd_flags=etcd_flags, apiserver_flags=apiserver_flags
    ) as instance:
        cluster = Cluster(instance.kubeconfig, instance.server, tuple(bin_dirs()))
        install_crds(cluster)
        cluster.kubectl("create", "namespace", namespace)
        proxy = ApiProxy(instance.server, instance.pki, seed=seed).start()
        try:
            kubeconfig = proxy.write_kubeconfig(directory.parent / "proxied.kubeconfig")
            through = Cluster(kubeconfig, proxy.server, cluster.bin_dirs)
            yield ProxiedCluster(cluster, proxy, through)
        finally:
            proxy.stop()
