"""The typed request bodies: what UpdateJob may change is one list, kept in step."""

from __future__ import annotations

from ads_operator.models.wire import CreateJobDetails, UpdateJobDetails, update_details
from ads_operator.reconcile.lifecycle import JOB_UPDATABLE_FIELDS


def test_update_details_keep_exactly_the_fields_update_job_accepts() -> None:
    assert set(UpdateJobDetails.__optional_keys__) == set(JOB_UPDATABLE_FIELDS)
    details = CreateJobDetails(
        projectId="p",
        compartmentId="c",
        displayName="n",
        description="d",
        jobConfigurationDetails={"jobType": "DEFAULT"},
        jobInfrastructureConfigurationDetails={"jobInfrastructureType": "ME_STANDALONE"},
        jobStorageMountConfigurationDetailsList=[{"storageType": "FILE_STORAGE"}],
        freeformTags={"a": "b"},
        definedTags={"ns": {"k": "v"}},
    )
    update = update_details(details)
    assert set(update) == set(JOB_UPDATABLE_FIELDS)
    assert all(update[k] == details[k] for k in update)  # type: ignore[literal-required]
    assert update_details(CreateJobDetails(projectId="p", compartmentId="c")) == {}
