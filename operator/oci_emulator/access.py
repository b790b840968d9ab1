"""IAM for OKE workloads: a call outside the compartments the policy grants is refused.

OCI evaluates policy on every call and answers a principal that may not act with 404
``NotAuthorizedOrNotFound`` — the same answer as for a resource that does not exist, so a
caller learns nothing about compartments it cannot see. The emulator does the same for
callers that are workloads (:class:`~oci_emulator.backend.context.Caller.workload`); API
keys and run principals stay unrestricted, as the emulator has no policies for them.

The compartments a request acts in are read from what the request names: ``compartmentId``
in the body (creates) or the query (lists), the compartment of the job, run, log group,
bucket or work request in the path, of the job a new run belongs to, or the compartments a
log search names; every one of them must be granted. A request
that names none (``GetNamespace``) is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from oci_emulator.backend.context import Caller
from oci_emulator.emulator import Emulator
from oci_emulator.errors import ApiError, NotAuthorizedOrNotFound

_SEARCH_SOURCE = re.compile(r'"([^"/]+)(?:/[^"]*)?"')


def check(
    emu: Emulator,
    caller: Caller,
    *,
    operation: str,
    query: Mapping[str, str],
    path_ids: Mapping[str, str],
    body: Any,
) -> None:
    """Raise 404 NotAuthorizedOrNotFound if a workload acts outside its compartments."""
    if caller.workload is None:
        return
    allowed = emu.workload_policy.compartments(caller.workload)
    if allowed is None:
        return
    for compartment in _compartments(emu, query, path_ids, body):
        if compartment not in allowed:
            raise NotAuthorizedOrNotFound(
                f"Authorization failed or requested resource not found ({operation}): no policy"
                f" lets workload {caller.workload} act in compartment {compartment}."
            )


def _compartments(
    emu: Emulator, query: Mapping[str, str], path_ids: Mapping[str, str], body: Any
) -> list[str]:
    found: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("compartmentId"), str):
            found.append(body["compartmentId"])
        search = body.get("searchQuery")
        if isinstance(search, str):
            found += _SEARCH_SOURCE.findall(search.partition("|")[0])
    if "compartmentId" in query:
        found.append(query["compartmentId"])
    owner = _owner_compartment(emu, path_ids)
    if owner:
        found.append(owner)
    if isinstance(body, dict) and isinstance(body.get("jobId"), str):
        job = _owner_compartment(emu, {"jobId": body["jobId"]})  # a run of someone's job
        if job:
            found.append(job)
    return found


def _owner_compartment(emu: Emulator, path_ids: Mapping[str, str]) -> str | None:
    """The compartment of the resource the path names (``None``: none, or not found —
    then the operation itself answers 404)."""
    try:
        if "jobRunId" in path_ids:
            doc = emu.ds.get_job_run(path_ids["jobRunId"])
        elif "jobId" in path_ids:
            doc = emu.ds.get_job(path_ids["jobId"])
        elif "logGroupId" in path_ids:
            doc = emu.logging.get_log_group(path_ids["logGroupId"])
        elif "bucketName" in path_ids:
            doc = emu.objects.get_bucket(path_ids["namespaceName"], path_ids["bucketName"])
        elif "workRequestId" in path_ids:
            doc = _work_request(emu, path_ids["workRequestId"])
        else:
            return None
    except ApiError:
        return None
    value = doc.get("compartmentId")
    return value if isinstance(value, str) else None


def _work_request(emu: Emulator, wr_id: str) -> dict[str, Any]:
    try:
        return emu.ds.work_requests.get(wr_id)
    except ApiError:
        return emu.logging.work_requests.get(wr_id)
