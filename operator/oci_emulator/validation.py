"""Request-body validation for Data Science jobs and runs, with the service's wording.

Pure functions over the camelCase dicts the SDK sends: each either returns the normalised
block (defaults filled in, as the service echoes them back) or raises ``InvalidParameter``
/ ``MissingParameter`` naming the offending field, so callers see *why* a spec is refused.
"""

from __future__ import annotations

from typing import Any

from oci_emulator.errors import InvalidParameter, LimitExceeded, MissingParameter
from oci_emulator.shapes import SHAPE_NAMES, is_flex

Doc = dict[str, Any]

MIN_BLOCK_STORAGE_GB = 50
MAX_BLOCK_STORAGE_GB = 10240
MAX_CONTAINER_COMMAND_BYTES = 2048
ARTIFACT_SUFFIXES = (".py", ".sh", ".zip", ".tar.gz", ".tgz")

JOB_TYPES = frozenset({"DEFAULT", "EMPTY"})
INFRA_TYPES = frozenset(
    {"STANDALONE", "ME_STANDALONE", "MULTI_NODE", "EMPTY", "MANAGED_COMPUTE_CLUSTER"}
)
CPU_BASELINES = frozenset({"BASELINE_1_8", "BASELINE_1_2", "BASELINE_1_1"})
STORAGE_TYPES = frozenset({"FILE_STORAGE", "OBJECT_STORAGE"})


def require(body: Doc, field: str, where: str = "") -> Any:
    value = body.get(field)
    if value is None or value == "":
        raise MissingParameter(f"{where}{field} is required.")
    return value


def require_str(body: Doc, field: str, where: str = "") -> str:
    value = require(body, field, where)
    if not isinstance(value, str):
        raise InvalidParameter(f"{where}{field} must be a string.")
    return value


def optional_object(body: Doc, field: str, where: str = "") -> Doc | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidParameter(f"{where}{field} must be an object.")
    return value


def check_tags(body: Doc) -> None:
    free = body.get("freeformTags")
    if free is not None and (
        not isinstance(free, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in free.items())
    ):
        raise InvalidParameter("freeformTags must map strings to strings.")
    defined = body.get("definedTags")
    if defined is not None and (
        not isinstance(defined, dict) or not all(isinstance(v, dict) for v in defined.values())
    ):
        raise InvalidParameter("definedTags must map namespaces to objects.")


def job_configuration(block: Doc, where: str = "jobConfigurationDetails.") -> Doc:
    job_type = require_str(block, "jobType", where)
    if job_type not in JOB_TYPES:
        raise InvalidParameter(f"{where}jobType {job_type!r} is not one of {sorted(JOB_TYPES)}.")
    if job_type == "EMPTY":
        return {"jobType": "EMPTY"}
    out: Doc = {"jobType": "DEFAULT"}
    env = block.get("environmentVariables")
    if env is not None:
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise InvalidParameter(f"{where}environmentVariables must map strings to strings.")
        for key in env:
            if not key or "=" in key:
                raise InvalidParameter(f"{where}environmentVariables has an invalid name {key!r}.")
        out["environmentVariables"] = dict(env)
    args = block.get("commandLineArguments")
    if args is not None:
        if not isinstance(args, str):
            raise InvalidParameter(f"{where}commandLineArguments must be a single string.")
        out["commandLineArguments"] = args
    runtime = block.get("maximumRuntimeInMinutes")
    if runtime is not None:
        if isinstance(runtime, bool) or not isinstance(runtime, int) or runtime < 1:
            raise InvalidParameter(f"{where}maximumRuntimeInMinutes must be a positive integer.")
        out["maximumRuntimeInMinutes"] = runtime
    probe = optional_object(block, "startupProbeDetails", where)
    if probe is not None:
        if probe.get("jobProbeCheckType") != "EXEC":
            raise InvalidParameter(f"{where}startupProbeDetails.jobProbeCheckType must be EXEC.")
        if not isinstance(probe.get("command"), list):
            raise MissingParameter(f"{where}startupProbeDetails.command is required.")
        out["startupProbeDetails"] = dict(probe)
    return out


def infrastructure(block: Doc, where: str = "jobInfrastructureConfigurationDetails.") -> Doc:
    infra_type = require_str(block, "jobInfrastructureType", where)
    if infra_type not in INFRA_TYPES:
        raise InvalidParameter(
            f"{where}jobInfrastructureType {infra_type!r} is not one of {sorted(INFRA_TYPES)}."
        )
    if infra_type == "EMPTY":
        return {"jobInfrastructureType": "EMPTY"}
    if infra_type == "MANAGED_COMPUTE_CLUSTER":
        require(block, "computeTargetId", where)
        require(block, "resourceConfiguration", where)
        return dict(block)
    out: Doc = {"jobInfrastructureType": infra_type}
    shape = require_str(block, "shapeName", where)
    if shape not in SHAPE_NAMES:
        raise InvalidParameter(
            f"{where}shapeName {shape!r} is not a supported job shape; see ListJobShapes."
        )
    out["shapeName"] = shape
    storage = require(block, "blockStorageSizeInGBs", where)
    if isinstance(storage, bool) or not isinstance(storage, int):
        raise InvalidParameter(f"{where}blockStorageSizeInGBs must be an integer.")
    if storage < MIN_BLOCK_STORAGE_GB:
        raise InvalidParameter(
            f"{where}blockStorageSizeInGBs must be at least {MIN_BLOCK_STORAGE_GB} GB "
            f"(got {storage})."
        )
    if storage > MAX_BLOCK_STORAGE_GB:
        raise InvalidParameter(
            f"{where}blockStorageSizeInGBs must be at most {MAX_BLOCK_STORAGE_GB} GB "
            f"(got {storage})."
        )
    out["blockStorageSizeInGBs"] = storage
    if infra_type == "STANDALONE":
        out["subnetId"] = require_str(block, "subnetId", where)
    elif block.get("subnetId") is not None:
        raise InvalidParameter(f"{where}subnetId is not allowed for {infra_type} infrastructure.")
    shape_config = optional_object(block, "jobShapeConfigDetails", where)
    if shape_config is not None:
        if not is_flex(shape):
            raise InvalidParameter(
                f"{where}jobShapeConfigDetails is only allowed for Flex shapes; "
                f"{shape} is not a Flex shape."
            )
        out["jobShapeConfigDetails"] = _shape_config(shape_config, where)
    for key in ("capacityReservationId", "capacityReservationIds"):
        if block.get(key) is not None:
            out[key] = block[key]
    return out


def _shape_config(config: Doc, where: str) -> Doc:
    out: Doc = {}
    for key in ("ocpus", "memoryInGBs"):
        value = config.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidParameter(f"{where}jobShapeConfigDetails.{key} must be positive.")
            out[key] = value
    baseline = config.get("cpuBaseline", "BASELINE_1_1")
    if baseline not in CPU_BASELINES:
        raise InvalidParameter(
            f"{where}jobShapeConfigDetails.cpuBaseline must be one of {sorted(CPU_BASELINES)}."
        )
    out["cpuBaseline"] = baseline
    return out


def environment(block: Doc, where: str = "jobEnvironmentConfigurationDetails.") -> Doc:
    env_type = require_str(block, "jobEnvironmentType", where)
    if env_type != "OCIR_CONTAINER":
        raise InvalidParameter(f"{where}jobEnvironmentType must be OCIR_CONTAINER.")
    out: Doc = {"jobEnvironmentType": env_type, "image": require_str(block, "image", where)}
    size = 0
    for key in ("cmd", "entrypoint"):
        value = block.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidParameter(f"{where}{key} must be a list of strings.")
        size += sum(len(v.encode()) for v in value)
        out[key] = list(value)
    if size >= MAX_CONTAINER_COMMAND_BYTES:
        raise InvalidParameter(
            f"{where}cmd and entrypoint together must be under {MAX_CONTAINER_COMMAND_BYTES} bytes."
        )
    for key in ("imageDigest", "imageSignatureId"):
        if block.get(key) is not None:
            out[key] = block[key]
    return out


def log_configuration(block: Doc) -> Doc:
    out: Doc = {}
    for key in ("enableLogging", "enableAutoLogCreation"):
        value = block.get(key)
        if value is not None:
            if not isinstance(value, bool):
                raise InvalidParameter(f"jobLogConfigurationDetails.{key} must be a boolean.")
            out[key] = value
    for key in ("logGroupId", "logId"):
        if block.get(key) is not None:
            out[key] = str(block[key])
    if out.get("enableLogging") and not out.get("logGroupId"):
        raise MissingParameter("jobLogConfigurationDetails.logGroupId is required with logging.")
    if out.get("enableAutoLogCreation") and not out.get("enableLogging"):
        raise InvalidParameter(
            "jobLogConfigurationDetails.enableAutoLogCreation needs enableLogging=true."
        )
    return out


def storage_mounts(items: Any, field: str) -> list[Doc]:
    if not isinstance(items, list):
        raise InvalidParameter(f"{field} must be a list.")
    if len(items) > 5:
        raise LimitExceeded(f"{field} allows at most 5 storage mounts.")
    out = []
    for index, item in enumerate(items):
        where = f"{field}[{index}]."
        if not isinstance(item, dict):
            raise InvalidParameter(f"{where} must be an object.")
        storage_type = require_str(item, "storageType", where)
        if storage_type not in STORAGE_TYPES:
            raise InvalidParameter(f"{where}storageType must be one of {sorted(STORAGE_TYPES)}.")
        require_str(item, "destinationDirectoryName", where)
        needed = (
            ("namespace", "bucket")
            if storage_type == "OBJECT_STORAGE"
            else (
                "mountTargetId",
                "exportId",
            )
        )
        for key in needed:
            require_str(item, key, where)
        out.append(dict(item))
    return out


def node_configuration(block: Doc, where: str = "jobNodeConfigurationDetails.") -> Doc:
    if block.get("jobNodeType") != "MULTI_NODE":
        raise InvalidParameter(f"{where}jobNodeType must be MULTI_NODE.")
    groups = block.get("jobNodeGroupConfigurationDetailsList")
    if not isinstance(groups, list) or not groups:
        raise MissingParameter(f"{where}jobNodeGroupConfigurationDetailsList is required.")
    out = dict(block)
    network = block.get("jobNetworkConfiguration") or {"jobNetworkType": "DEFAULT_NETWORK"}
    if network.get("jobNetworkType") not in ("DEFAULT_NETWORK", "CUSTOM_NETWORK"):
        raise InvalidParameter(f"{where}jobNetworkConfiguration.jobNetworkType is invalid.")
    if network["jobNetworkType"] == "CUSTOM_NETWORK":
        require_str(network, "subnetId", f"{where}jobNetworkConfiguration.")
    out["jobNetworkConfiguration"] = network
    normalised = []
    for index, group in enumerate(groups):
        gwhere = f"{where}jobNodeGroupConfigurationDetailsList[{index}]."
        if not isinstance(group, dict):
            raise InvalidParameter(f"{gwhere} must be an object.")
        item: Doc = {"name": require_str(group, "name", gwhere)}
        for key in ("replicas", "minimumSuccessReplicas"):
            if group.get(key) is not None:
                item[key] = group[key]
        infra = optional_object(group, "jobInfrastructureConfigurationDetails", gwhere)
        if infra is not None:
            item["jobInfrastructureConfigurationDetails"] = infrastructure(
                infra, f"{gwhere}jobInfrastructureConfigurationDetails."
            )
        config = optional_object(group, "jobConfigurationDetails", gwhere)
        if config is not None:
            item["jobConfigurationDetails"] = job_configuration(
                config, f"{gwhere}jobConfigurationDetails."
            )
        env = optional_object(group, "jobEnvironmentConfigurationDetails", gwhere)
        if env is not None:
            item["jobEnvironmentConfigurationDetails"] = environment(
                env, f"{gwhere}jobEnvironmentConfigurationDetails."
            )
        normalised.append(item)
    out["jobNodeGroupConfigurationDetailsList"] = normalised
    return out


def artifact_filename(content_disposition: str | None) -> str:
    """The filename from ``attachment; filename=hello.py``; its suffix must be supported."""
    if not content_disposition:
        raise MissingParameter("content-disposition with a filename is required.")
    filename = ""
    for part in content_disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "filename":
            filename = value.strip().strip('"')
    if not filename:
        raise MissingParameter("content-disposition must name the artifact file (filename=...).")
    if not filename.lower().endswith(ARTIFACT_SUFFIXES):
        raise InvalidParameter(
            f"Artifact file {filename!r} has an unsupported type; "
            "supported: .py, .sh, .zip, .tar.gz, .tgz."
        )
    return filename
