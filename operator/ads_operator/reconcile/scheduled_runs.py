"""The DataScienceJobRuns a job's schedule creates: their manifest and which are active.

A run's name is derived from its schedule time (:func:`ads_operator.reconcile.schedule.run_name`),
so a create repeated after a crash finds the run it made instead of making a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from ads_operator.models import API_VERSION, JOB_KIND, RUN_KIND
from ads_operator.models.base import JsonObject
from ads_operator.reconcile.identity import label_value

#: Label on runs a schedule created: the job's name, cut and hashed when over 63
#: characters (:func:`ads_operator.reconcile.identity.label_value`).
SCHEDULED_BY: Final = "ads.oci.dev/scheduled-by"
#: Annotation with the schedule time a run was created for.
SCHEDULED_AT: Final = "ads.oci.dev/scheduled-at"
_ACTIVE_PHASES: Final = (None, "Pending", "Running")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_manifest(job: Mapping[str, Any], run_name: str, moment: datetime) -> JsonObject:
    """The run to create for the schedule time ``moment``, owned by ``job``."""
    meta = job["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": RUN_KIND,
        "metadata": {
            "name": run_name,
            "labels": {SCHEDULED_BY: label_value(meta["name"])},
            "annotations": {SCHEDULED_AT: iso(moment)},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": JOB_KIND,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": {"jobRef": {"name": meta["name"]}},
    }


def active_runs(runs: Iterable[Mapping[str, Any]], job_name: str) -> list[Mapping[str, Any]]:
    """The runs this job's schedule created that have not finished."""
    return [
        r
        for r in runs
        if (r["metadata"].get("labels") or {}).get(SCHEDULED_BY) == label_value(job_name)
        and not r["metadata"].get("deletionTimestamp")
        and (r.get("status") or {}).get("phase") in _ACTIVE_PHASES
    ]
