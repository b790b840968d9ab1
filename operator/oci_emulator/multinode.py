"""Multi-node runs: every replica of every node group a host process, wired as OCI wires a cluster.

OCI gives each node of a multi-node job run (the service's "distributed job environment
variables"): ``NODE_RANK`` (0 .. n-1 across all groups), ``NODE_GROUP_NAME``,
``INITIAL_CLUSTER_SIZE`` (nodes at start, all groups), ``CLUSTER_NODES_METADATA_FILE`` (a
JSON list of ``{"Rank", "IPAddress"}``, one entry per node; the rank-0 node is the main
one) and the network interface for NCCL and Gloo (``NCCL_SOCKET_IFNAME``,
``GLOO_SOCKET_IFNAME``, ``JR_SOCKET_IFNAME``). ADS's pyTorch driver and ours read exactly
these. Here the nodes share one host, so each gets an address of its own on loopback: a
/16 of 127.0.0.0/8 picked from the run's OCID, rank r at ``.1 + r``. Code that listens on
its node's address and port then never collides with another run's cluster, and nothing
leaves loopback.

The rules, as data in :class:`GroupTally`: a group succeeds when ``minimumSuccessReplicas``
(default: all) of its replicas exit 0. As soon as one group can no longer get there, the
other replicas are stopped (a distributed job whose peer died would otherwise wait on it
until its maximum runtime) and the run fails with the exit code of the replica that decided
it. A cancel stops every replica.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oci_emulator.errors import InvalidParameter
from oci_emulator.executor import (
    BootstrapError,
    LaunchPlan,
    LineSink,
    Outcome,
    plan_launch,
    run_process,
)

Doc = dict[str, Any]

#: The interface every node's traffic uses (``NCCL_SOCKET_IFNAME`` and the like).
LOOPBACK_INTERFACE = "lo"
#: Name of the cluster metadata file in the run's work directory.
METADATA_FILE = "cluster_nodes_metadata.json"

#: NodeGroupDetails states (oci-api.md, JobRun.nodeGroupDetailsList).
GROUP_CREATING = "CREATING"
GROUP_ACTIVE = "ACTIVE"
GROUP_DELETED = "DELETED"
GROUP_FAILED = "FAILED"


@dataclass(frozen=True)
class NodeLaunch:
    """One replica of one node group of a multi-node run."""

    group: str
    rank: int
    address: str
    plan: LaunchPlan


def merge_node_configuration(job_nodes: Doc, override: Doc | None) -> Doc:
    """The job's node groups with the run's per-group overrides applied (matched by name)."""
    merged = {**job_nodes, "jobNodeGroupConfigurationDetailsList": []}
    overrides = {
        g["name"]: g for g in (override or {}).get("jobNodeGroupConfigurationDetailsList", [])
    }
    for group in job_nodes.get("jobNodeGroupConfigurationDetailsList", []):
        item = dict(group)
        extra = overrides.get(group["name"], {})
        if "jobConfigurationDetails" in extra:
            base = dict(item.get("jobConfigurationDetails") or {"jobType": "DEFAULT"})
            env = dict(base.get("environmentVariables") or {})
            env.update(extra["jobConfigurationDetails"].get("environmentVariables") or {})
            base.update(extra["jobConfigurationDetails"])
            if env:
                base["environmentVariables"] = env
            item["jobConfigurationDetails"] = base
        if "jobEnvironmentConfigurationDetails" in extra:
            item["jobEnvironmentConfigurationDetails"] = {
                **(item.get("jobEnvironmentConfigurationDetails") or {}),
                **extra["jobEnvironmentConfigurationDetails"],
            }
        for key in ("replicas", "minimumSuccessReplicas", "jobInfrastructureConfigurationDetails"):
            if key in extra:  # a run may size a group differently, or put it on another shape
                item[key] = extra[key]
        replicas = int(item.get("replicas") or 1)
        if int(item.get("minimumSuccessReplicas") or replicas) > replicas:
            raise InvalidParameter(
                f"jobNodeConfigurationOverrideDetails: group {group['name']!r} would need"
                f" {item['minimumSuccessReplicas']} successful replicas of {replicas}."
            )
        merged["jobNodeGroupConfigurationDetailsList"].append(item)
    if override and override.get("maximumRuntimeInMinutes"):
        merged["maximumRuntimeInMinutes"] = override["maximumRuntimeInMinutes"]
    return merged


def node_addresses(run_id: str, count: int) -> list[str]:
    """Loopback addresses of the run's nodes, rank order: ``127.a.b.1`` onwards.

    ``a.b`` comes from the run's OCID (never ``0.x``, where 127.0.0.1 lives), so two runs'
    clusters almost never share addresses, and a rerun of the same run gets the same ones.
    """
    digest = hashlib.sha256(run_id.encode()).digest()
    first = ipaddress.IPv4Address(f"127.{1 + digest[0] % 254}.{digest[1]}.1")
    return [str(first + rank) for rank in range(count)]


def cluster_variables(
    *, rank: int, group: str, size: int, address: str, metadata_file: Path
) -> dict[str, str]:
    """The variables OCI sets on one node of a multi-node run."""
    return {
        "NODE_RANK": str(rank),
        "NODE_GROUP_NAME": group,
        "INITIAL_CLUSTER_SIZE": str(size),
        "CLUSTER_NODES_METADATA_FILE": str(metadata_file),
        "FQDN": address,
        "NCCL_SOCKET_IFNAME": LOOPBACK_INTERFACE,
        "GLOO_SOCKET_IFNAME": LOOPBACK_INTERFACE,
        "JR_SOCKET_IFNAME": LOOPBACK_INTERFACE,
    }


def plan_nodes(
    run: Doc,
    job: Doc,
    nodes: Doc,
    *,
    artifact_name: str | None,
    artifact_path: Path | None,
    work_dir: Path,
    region: str,
    host_env: dict[str, str] | None = None,
    service_env: dict[str, str] | None = None,
    allow_installs: bool = False,
    shared_python: Path | None = None,
) -> list[NodeLaunch]:
    """Every replica of every node group, each in its own work directory and environment.

    Each replica has its own Python environment (two replicas installing packages at once
    must not share one). The metadata file is written before any node starts, so a node
    reads the whole cluster at its first look.
    """
    groups = nodes.get("jobNodeGroupConfigurationDetailsList", [])
    size = sum(int(g.get("replicas") or 1) for g in groups)
    if not size:
        raise BootstrapError("the multi-node job has no node groups.")
    addresses = node_addresses(run["id"], size)
    work_dir.mkdir(parents=True, exist_ok=True)
    metadata_file = work_dir / METADATA_FILE
    metadata = [{"Rank": rank, "IPAddress": a} for rank, a in enumerate(addresses)]
    metadata_file.write_text(json.dumps(metadata), encoding="utf-8")
    launches: list[NodeLaunch] = []
    rank = 0
    for group in groups:
        for replica in range(int(group.get("replicas") or 1)):
            node_run = dict(run)
            node_run["jobConfigurationOverrideDetails"] = group.get("jobConfigurationDetails") or {}
            node_run.pop("jobEnvironmentConfigurationOverrideDetails", None)
            if group.get("jobEnvironmentConfigurationDetails"):
                node_run["jobEnvironmentConfigurationOverrideDetails"] = group[
                    "jobEnvironmentConfigurationDetails"
                ]
            plan = plan_launch(
                node_run,
                job,
                artifact_name=artifact_name,
                artifact_path=artifact_path,
                work_dir=work_dir / f"{group['name']}-{replica}",
                region=region,
                host_env=host_env,
                allow_installs=allow_installs,
                shared_python=shared_python,
                extra_env={
                    **(service_env or {}),
                    **cluster_variables(
                        rank=rank,
                        group=group["name"],
                        size=size,
                        address=addresses[rank],
                        metadata_file=metadata_file,
                    ),
                },
            )
            launches.append(NodeLaunch(group["name"], rank, addresses[rank], plan))
            rank += 1
    return launches


@dataclass
class GroupTally:
    """How the replicas of one node group ended so far, and what that means for the group."""

    name: str
    replicas: int
    needed: int
    succeeded: int = 0
    failed: int = 0
    #: Stopped by the emulator (a cancel, or another group failed), not by their own exit.
    stopped: int = 0

    @classmethod
    def of(cls, group: Doc) -> GroupTally:
        replicas = int(group.get("replicas") or 1)
        return cls(group["name"], replicas, int(group.get("minimumSuccessReplicas") or replicas))

    @property
    def running(self) -> int:
        return self.replicas - self.succeeded - self.failed - self.stopped

    @property
    def lost(self) -> bool:
        """Too few replicas succeeded or can still succeed: the group has failed."""
        return self.succeeded + self.running < self.needed

    def record(self, outcome: Outcome, *, stopped: bool) -> None:
        if stopped:
            self.stopped += 1
        elif outcome.exit_code == 0 and not outcome.timed_out:
            self.succeeded += 1
        else:
            self.failed += 1

    def details(self, *, finished: bool, reason: str = "") -> Doc:
        """This group's NodeGroupDetails: ACTIVE while replicas run, then how it ended."""
        counts = f"{self.succeeded} of {self.replicas} replicas succeeded ({self.needed} needed)"
        if not finished:
            text = f"{self.running} of {self.replicas} replicas running; {counts}."
            return {"name": self.name, "lifecycleState": GROUP_ACTIVE, "lifecycleDetails": text}
        # A group that lost replicas only to a stop did not fail; it was torn down.
        state = GROUP_FAILED if self.lost and self.failed else GROUP_DELETED
        text = f"{counts}." + (f" {reason}" if reason and self.stopped else "")
        return {"name": self.name, "lifecycleState": state, "lifecycleDetails": text}


@dataclass
class _Cluster:
    """Mutable state of one multi-node execution (owned by :func:`run_nodes`)."""

    tallies: dict[str, GroupTally]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: The outcome of the replica whose exit made its group fail, and that group.
    deciding: tuple[str, Outcome] | None = None


async def run_nodes(
    launches: list[NodeLaunch],
    groups: list[Doc],
    sink: LineSink,
    *,
    cancel: asyncio.Event,
    timeout_seconds: float | None,
    on_start: Callable[[int], None],
    on_groups: Callable[[list[Doc]], None],
) -> Outcome:
    """Run every replica at once and apply the node group rules; ``on_groups`` receives the
    groups' NodeGroupDetails whenever a replica ends, and once more at the end."""
    cluster = _Cluster({g["name"]: GroupTally.of(g) for g in groups})
    relay = asyncio.create_task(_relay(cancel, cluster.stop))

    async def node(launch: NodeLaunch) -> None:
        outcome = await run_process(
            launch.plan,
            sink,
            cancel=cluster.stop,
            timeout_seconds=timeout_seconds,
            on_start=on_start,
        )
        tally = cluster.tallies[launch.group]
        tally.record(outcome, stopped=outcome.canceled)
        if tally.lost and cluster.deciding is None and not cluster.stop.is_set():
            cluster.deciding = (launch.group, outcome)
            cluster.stop.set()
        if not cluster.stop.is_set():
            on_groups([t.details(finished=False) for t in cluster.tallies.values()])

    try:
        await asyncio.gather(*(node(launch) for launch in launches))
    finally:
        relay.cancel()
    on_groups(
        [
            t.details(finished=True, reason=_stop_reason(t.name, cancel, cluster.deciding))
            for t in cluster.tallies.values()
        ]
    )
    if cancel.is_set():
        return Outcome(exit_code=0, canceled=True)
    if cluster.deciding is not None:
        decided = cluster.deciding[1]
        return Outcome(exit_code=decided.exit_code or 1, timed_out=decided.timed_out)
    return Outcome(exit_code=0)


def _stop_reason(group: str, cancel: asyncio.Event, deciding: tuple[str, Outcome] | None) -> str:
    """Why the emulator stopped replicas of ``group`` (shown only if it stopped any)."""
    if cancel.is_set():
        return "The run was canceled."
    if deciding is None:
        return ""
    if deciding[0] == group:
        return "A replica failed; the others were stopped."
    return f"Stopped because node group {deciding[0]!r} failed."


async def _relay(cancel: asyncio.Event, stop: asyncio.Event) -> None:
    """A cancel of the run stops every replica."""
    await cancel.wait()
    stop.set()
