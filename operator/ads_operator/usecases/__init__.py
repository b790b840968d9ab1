"""The operator's use cases: what happens to a job, a run and a schedule, over the
Kubernetes and OCI ports. kopf stays in :mod:`ads_operator.handlers`."""
