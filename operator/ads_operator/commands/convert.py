"""``ads-operator convert``: ADS job YAML <-> DataScienceJob manifest.

The direction follows the input: an ADS file (``kind: job``) becomes a DataScienceJob
manifest (``--name``/``--namespace`` set its metadata; the name otherwise comes from the
job name); a file with DataScienceJob documents becomes ADS YAML, one document per job.
Other documents (an example's ConfigMaps and runs) have no place in an ADS job YAML: they
are left out, and a note on stderr names each one and says why. A manifest may spell
``env`` as ADS's mapping (``{NAME: value}``); it is written as the name/value list.
``--ads-only`` leaves out the ``kubernetes`` block that makes the round trip lossless.
Every error is one line on stderr with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from ads_operator.ads import yaml_io
from ads_operator.models import JOB_KIND, RUN_KIND

#: Why a document of a kind is left out of the output (manifest -> ADS).
_DROPPED_BECAUSE: dict[str, str] = {
    "ConfigMap": "ADS reads code from a path or oci://, not a ConfigMap: upload its files"
    " and point the job's scriptPathURI at them",
    RUN_KIND: "a run is not part of an ADS job YAML: start one with job.run() in ADS",
}


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
    documents: list[Any],
    *,
    name: str | None,
    namespace: str | None,
    ads_only: bool,
    notes: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Convert every job in ``documents`` (the pure core of the command); what is left
    out is appended to ``notes``, one line each."""
    notes = [] if notes is None else notes
    ads_jobs = [d for d in documents if isinstance(d, dict) and d.get("kind", "job") == "job"]
    manifests = [d for d in documents if isinstance(d, dict) and d.get("kind") == JOB_KIND]
    if ads_jobs and manifests:
        raise yaml_io.ConversionError("the input mixes ADS jobs and DataScienceJobs")
    for document in documents:
        if document in ads_jobs or document in manifests:
            continue
        kind = document.get("kind", "?") if isinstance(document, dict) else type(document).__name__
        metadata = (document.get("metadata") or {}) if isinstance(document, dict) else {}
        label = f"{kind}/{metadata['name']}" if metadata.get("name") else str(kind)
        reason = _DROPPED_BECAUSE.get(
            str(kind), f"only {'ADS jobs' if ads_jobs else 'DataScienceJobs'} are converted"
        )
        notes.append(f"left out {label}: {reason}")
    if ads_jobs:
        if len(ads_jobs) > 1 and name:
            raise yaml_io.ConversionError("--name needs an input with a single job")
        return [yaml_io.ads_to_manifest(d, name=name, namespace=namespace) for d in ads_jobs]
    if not manifests:
        raise yaml_io.ConversionError("no ADS job (kind: job) or DataScienceJob in the input")
    converted = []
    for manifest in manifests:
        manifest = {**manifest, "spec": yaml_io.normalise_ads_spec(manifest.get("spec") or {})}
        yaml_io.validate_job_spec(manifest["spec"])
        converted.append(yaml_io.manifest_to_ads(manifest, ads_only=ads_only))
    return converted


def main(args: argparse.Namespace) -> int:
    source = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(
            f"ads-operator convert: cannot read {source}: {reason}; give the path of an ADS "
            "job YAML or a DataScienceJob manifest (or - for standard input)",
            file=sys.stderr,
        )
        return 1
    notes: list[str] = []
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
        converted = convert_documents(
            documents,
            name=args.name,
            namespace=args.namespace,
            ads_only=args.ads_only,
            notes=notes,
        )
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        print(
            f"ads-operator convert: {source} is not valid YAML{at}: {problem}",
            file=sys.stderr,
        )
        return 1
    except yaml_io.ConversionError as exc:
        print(f"ads-operator convert: {source}: {exc}", file=sys.stderr)
        return 1
    output = yaml.safe_dump_all(converted, sort_keys=False, explicit_start=True, width=100)
    if args.output:
        try:
            Path(args.output).write_text(output)
        except OSError as exc:
            print(
                f"ads-operator convert: cannot write {args.output}: {exc.strerror or exc}; "
                "give -o a path in a writable directory",
                file=sys.stderr,
            )
            return 1
    else:
        sys.stdout.write(output)
    for note in notes:
        print(f"ads-operator convert: {note}", file=sys.stderr)
    return 0
