"""``jobNodeConfigurationOverrideDetails``: a multi-node job's per-group run overrides.

Groups are matched to the job's by ``name`` (ADS names its one group ``node-group``);
each may carry its own replicas, MULTI_NODE infrastructure, job configuration and
container, as OCI's ``JobNodeGroupConfigurationDetails`` does.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StrictInt

from ads_operator.models.base import WireModel
from ads_operator.models.common import MAX_OCID, MAX_STRING, ocid_pattern
from ads_operator.models.override_parts import (
    NodeInfrastructureOverride,
    StartupProbe,
    SubnetOcid,
)
from ads_operator.models.rules import Rule, RuledModel

#: At most this many node groups in a node override (ADS's jobs have one).
MAX_NODE_GROUPS: Final = 4

ExecList = Annotated[list[Annotated[str, Field(max_length=2048)]], Field(max_length=64)]
EnvMap = Annotated[dict[str, Annotated[str, Field(max_length=32768)]], Field(max_length=256)]


class NodeJobConfiguration(WireModel):
    """A node group's ``jobConfigurationDetails`` (``DEFAULT``)."""

    job_type: Literal["DEFAULT"] = Field(description="Always DEFAULT.")
    environment_variables: EnvMap | None = Field(
        default=None, description="Environment variables added for this group's nodes."
    )
    command_line_arguments: str | None = Field(
        default=None,
        max_length=32768,
        description="Command-line arguments as one string, sent as is.",
    )
    maximum_runtime_in_minutes: StrictInt | None = Field(
        default=None, ge=1, description="Stop the nodes after this many minutes."
    )
    startup_probe_details: StartupProbe | None = Field(
        default=None, description="Startup probe of this group's nodes (EXEC)."
    )


class NodeContainer(WireModel):
    """A node group's ``jobEnvironmentConfigurationDetails`` (``OCIR_CONTAINER``)."""

    job_environment_type: Literal["OCIR_CONTAINER"] = Field(description="Always OCIR_CONTAINER.")
    image: str = Field(
        max_length=2048, pattern=r"^\S+$", description="Container image of this group's nodes."
    )
    cmd: ExecList | None = Field(default=None, description="Container CMD.")
    entrypoint: ExecList | None = Field(default=None, description="Container entrypoint.")
    image_digest: str | None = Field(
        default=None, max_length=MAX_STRING, description="Image digest."
    )
    image_signature_id: str | None = Field(
        default=None,
        max_length=MAX_OCID,
        pattern=ocid_pattern("containerimagesignature"),
        description="OCID of the image signature to verify.",
    )


class NodeGroupOverride(RuledModel):
    """One node group's overrides, matched to the job's group by ``name``."""

    name: str = Field(max_length=255, pattern=r"^\S+$", description="The job's group name.")
    replicas: StrictInt | None = Field(
        default=None, ge=1, le=1024, description="Number of nodes in this group."
    )
    minimum_success_replicas: StrictInt | None = Field(
        default=None, ge=1, le=1024, description="Nodes that must succeed."
    )
    job_infrastructure_configuration_details: NodeInfrastructureOverride | None = None
    job_configuration_details: NodeJobConfiguration | None = None
    job_environment_configuration_details: NodeContainer | None = None
    RULES = (
        Rule(
            "!has(self.minimumSuccessReplicas) || !has(self.replicas) || "
            "self.minimumSuccessReplicas <= self.replicas",
            "minimumSuccessReplicas cannot exceed replicas",
            ".minimumSuccessReplicas",
            lambda m: (
                m.minimum_success_replicas is None
                or m.replicas is None
                or m.minimum_success_replicas <= m.replicas
            ),
        ),
    )


class NetworkOverride(RuledModel):
    """``jobNetworkConfiguration`` of a node override."""

    job_network_type: Literal["DEFAULT_NETWORK", "CUSTOM_NETWORK"] = Field(
        description="DEFAULT_NETWORK, or CUSTOM_NETWORK in subnetId."
    )
    subnet_id: SubnetOcid | None = Field(default=None, description="Subnet (CUSTOM_NETWORK).")
    RULES = (
        Rule(
            "(self.jobNetworkType == 'CUSTOM_NETWORK') == has(self.subnetId)",
            "CUSTOM_NETWORK needs subnetId; DEFAULT_NETWORK takes none",
            ".subnetId",
            lambda m: (m.job_network_type == "CUSTOM_NETWORK") == (m.subnet_id is not None),
        ),
    )


class NodeOverride(RuledModel):
    """``jobNodeConfigurationOverrideDetails``: a multi-node job's per-group overrides."""

    job_node_type: Literal["MULTI_NODE"] = Field(description="Always MULTI_NODE.")
    startup_order: Literal["IN_ORDER", "IN_PARALLEL"] | None = Field(
        default=None, description="Start the groups IN_ORDER or IN_PARALLEL."
    )
    maximum_runtime_in_minutes: StrictInt | None = Field(
        default=None, ge=1, description="Stop the run after this many minutes."
    )
    job_network_configuration: NetworkOverride | None = None
    job_node_group_configuration_details_list: Annotated[
        list[NodeGroupOverride], Field(min_length=1, max_length=MAX_NODE_GROUPS)
    ] = Field(description="The groups to override, by name.")
    RULES = (
        Rule(
            "self.jobNodeGroupConfigurationDetailsList.all(g, "
            "self.jobNodeGroupConfigurationDetailsList.exists_one(h, h.name == g.name))",
            "node group names must be unique",
            ".jobNodeGroupConfigurationDetailsList",
            lambda m: (
                len({g.name for g in m.job_node_group_configuration_details_list})
                == len(m.job_node_group_configuration_details_list)
            ),
        ),
    )
