"""``ads-operator convert``: ADS job YAML <-> DataScienceJob manifest.

The direction follows the input: an ADS file (``kind: job``) becomes a DataScienceJob
manifest (``--name``/``--namespace`` set its metadata; the name otherwise comes from the
job name); a file with DataScienceJob documents (other kinds are skipped, so an example
file with its ConfigMaps works) becomes ADS YAML, one document per job. ``--ads-only``
leaves out the ``kubernetes`` block that makes the round trip lossless.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from ads_operator.ads import yaml_io
from ads_operator.models import JOB_KIND


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="input YAML file, or - for standard input")
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    parser.add_argument("--name", help="metadata.name of the DataScienceJob (ADS -> manifest)")
    parser.add_argument("--namespace", help="metadata.namespace (ADS -> manifest)")
    parser.add_argument(
        "--ads-only",
        action="store_true",
        help="manifest -> ADS: omit the kubernetes block (metadata and operator settings)",
    )


def convert_documents(
    documents: list[Any], *, name: str | None, namespace: str | None, ads_only: bool
) -> list[dict[str, Any]]:
    """Convert every job in ``documents`` (the pure core of the command)."""
    ads_jobs = [d for d in documents if isinstance(d, dict) and d.get("kind", "job") == "job"]
    manifests = [d for d in documents if isinstance(d, dict) and d.get("kind") == JOB_KIND]
    if ads_jobs and manifests:
        raise yaml_io.ConversionError("the input mixes ADS jobs and DataScienceJobs")
    if ads_jobs:
        if len(ads_jobs) > 1 and name:
            raise yaml_io.ConversionError("--name needs an input with a single job")
        return [yaml_io.ads_to_manifest(d, name=name, namespace=namespace) for d in ads_jobs]
    if not manifests:
        raise yaml_io.ConversionError("no ADS job (kind: job) or DataScienceJob in the input")
    for manifest in manifests:
        yaml_io.validate_job_spec(manifest.get("spec") or {})
    return [yaml_io.manifest_to_ads(m, ads_only=ads_only) for m in manifests]


def main(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
        converted = convert_documents(
            documents, name=args.name, namespace=args.namespace, ads_only=args.ads_only
        )
    except (yaml.YAMLError, yaml_io.ConversionError) as exc:
        print(f"ads-operator convert: {exc}", file=sys.stderr)
        return 1
    output = yaml.safe_dump_all(converted, sort_keys=False, explicit_start=True, width=100)
    if args.output:
        Path(args.output).write_text(output)
    else:
        sys.stdout.write(output)
    return 0
