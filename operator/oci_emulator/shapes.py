"""The job shapes and fast-launch configurations the emulator offers (ListJobShapes).

A small but representative catalogue: fixed and Flex shapes of each series, so validation of
``shapeName`` and of shape configs on non-Flex shapes behaves as in a real region.
"""

from __future__ import annotations

from typing import Any, Final

JOB_SHAPES: Final[tuple[dict[str, Any], ...]] = (
    {"name": "VM.Standard2.1", "coreCount": 1, "memoryInGBs": 15, "shapeSeries": "INTEL_SKYLAKE"},
    {"name": "VM.Standard2.2", "coreCount": 2, "memoryInGBs": 30, "shapeSeries": "INTEL_SKYLAKE"},
    {"name": "VM.Standard2.4", "coreCount": 4, "memoryInGBs": 60, "shapeSeries": "INTEL_SKYLAKE"},
    {"name": "VM.Standard2.8", "coreCount": 8, "memoryInGBs": 120, "shapeSeries": "INTEL_SKYLAKE"},
    {
        "name": "VM.Standard3.Flex",
        "coreCount": 32,
        "memoryInGBs": 512,
        "shapeSeries": "INTEL_SKYLAKE",
    },
    {
        "name": "VM.Standard.E3.Flex",
        "coreCount": 64,
        "memoryInGBs": 1024,
        "shapeSeries": "AMD_ROME",
    },
    {
        "name": "VM.Standard.E4.Flex",
        "coreCount": 64,
        "memoryInGBs": 1024,
        "shapeSeries": "AMD_ROME",
    },
    {
        "name": "VM.Standard.E5.Flex",
        "coreCount": 94,
        "memoryInGBs": 1049,
        "shapeSeries": "AMD_ROME",
    },
    {
        "name": "VM.Optimized3.Flex",
        "coreCount": 18,
        "memoryInGBs": 256,
        "shapeSeries": "INTEL_SKYLAKE",
    },
    {"name": "VM.Standard.A1.Flex", "coreCount": 80, "memoryInGBs": 512, "shapeSeries": "ARM"},
    {"name": "VM.GPU2.1", "coreCount": 12, "memoryInGBs": 72, "shapeSeries": "NVIDIA_GPU"},
    {"name": "VM.GPU3.1", "coreCount": 6, "memoryInGBs": 90, "shapeSeries": "NVIDIA_GPU"},
    {"name": "VM.GPU.A10.1", "coreCount": 15, "memoryInGBs": 240, "shapeSeries": "NVIDIA_GPU"},
)

FAST_LAUNCH_CONFIGS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "VM.Standard.E4.Flex-2-32",
        "shapeName": "VM.Standard.E4.Flex",
        "coreCount": 2,
        "memoryInGBs": 32,
        "shapeSeries": "AMD_ROME",
        "managedEgressSupport": "SUPPORTED",
    },
    {
        "name": "VM.Standard2.1",
        "shapeName": "VM.Standard2.1",
        "coreCount": 1,
        "memoryInGBs": 15,
        "shapeSeries": "INTEL_SKYLAKE",
        "managedEgressSupport": "SUPPORTED",
    },
    {
        "name": "VM.GPU.A10.1",
        "shapeName": "VM.GPU.A10.1",
        "coreCount": 15,
        "memoryInGBs": 240,
        "shapeSeries": "NVIDIA_GPU",
        "managedEgressSupport": "REQUIRED",
    },
)

SHAPE_NAMES: Final = frozenset(shape["name"] for shape in JOB_SHAPES)


def is_flex(shape_name: str) -> bool:
    return shape_name.endswith(".Flex")


def override_note(infra: dict[str, Any]) -> str:
    """The line a run with an infrastructure override gets first in its log: the machine
    OCI would give it (the run itself is a host process with the host's CPUs and memory)."""
    config = infra.get("jobShapeConfigDetails") or {}
    sizes = ", ".join(f"{key} {config[key]:g}" for key in ("ocpus", "memoryInGBs") if key in config)
    return (
        f"oci_emulator: this run overrides the job's infrastructure: shape {infra['shapeName']}"
        + (f" ({sizes})" if sizes else "")
        + f", {infra['blockStorageSizeInGBs']} GB block storage, {infra['jobInfrastructureType']}"
        + "; it runs as a host process with the host's CPUs and memory."
    )
