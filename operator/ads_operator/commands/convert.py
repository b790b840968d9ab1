"""``ads-operator convert``: ADS job YAML <-> DataScienceJob manifest.

The direction follows the input: an ADS file (``kind: job``) becomes a DataScienceJob
manifest (``--name``/``--namespace`` set its metadata; the name otherwise comes from the
job name); a file with DataScienceJob documents becomes ADS YAML, one document per job.
Other documents (an example's ConfigMaps and runs) have no place in an ADS job YAML: they
are left out, and a note on stderr names each one and says why. A manifest may spell
``env`` as ADS's mapping (``{NAME: value}``); it is written as the name/value list.
``--ads-only`` leaves out the ``kubernetes`` block that makes the round trip lossless.

A local path in ``scriptPathURI``, ``notebookPathURI`` or ``source`` (ADS uploads those)
becomes a ConfigMap written before the job when the code is small, or with ``--upload
oci://bucket@namespace/prefix`` is uploaded with the user's OCI config (``--oci-config``,
``--oci-endpoint`` as for ``logs``); see :mod:`ads_operator.commands.localcode`. Uploads
happen only once every job converted, and the output is written only after them. A
File Storage mount written as ``<IP>:<export path>`` is resolved to OCIDs with Resource
Search and the same OCI config, as ADS resolves it (:mod:`ads_operator.ads.mounts`).
Every error is one line on stderr with exit code 1.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import yaml

from ads_operator.ads import mounts, yaml_io
from ads_operator.commands.localcode import CodePlan, ConfigMap, place_local_code
from ads_operator.models import JOB_KIND, RUN_KIND
from ads_operator.models.base import JsonObject
from ads_operator.models.oci_errors import OciError
from ads_operator.oci.resource_search import FreeTextSearch
from ads_operator.oci.upload import put_objects
from ads_operator.settings import SettingsError, from_env

#: Why a document of a kind is left out of the output (manifest -> ADS).
_DROPPED_BECAUSE: dict[str, str] = {
    "ConfigMap": "ADS reads code from a path or oci://, not a ConfigMap: upload its files"
    " and point the job's scriptPathURI at them",
    RUN_KIND: "a run is not part of an ADS job YAML: start one with job.run() in ADS",
}

#: One document of the output: a job's code ConfigMap and the job's manifest (ADS ->
#: manifest), or an ADS job YAML document (manifest -> ADS).
Converted: TypeAlias = ConfigMap | yaml_io.JobManifest | yaml_io.AdsJobDocument


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (a ConfigMap's code) as literal blocks, readable as code."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None  # PyYAML quotes what a block cannot hold
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


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
    parser.add_argument(
        "--upload",
        metavar="oci://BUCKET@NAMESPACE/PREFIX",
        help="ADS -> manifest: upload local code here instead of writing it into ConfigMaps",
    )
    parser.add_argument(
        "--oci-config",
        help="OCI config file for --upload and for resolving <IP>:<export path> mounts"
        " (sets ADS_OPERATOR_OCI_CONFIG_FILE)",
    )
    parser.add_argument(
        "--oci-endpoint", help="send those OCI calls here (sets ADS_OPERATOR_OCI_ENDPOINT)"
    )


def convert_documents(
    documents: Sequence[object],
    *,
    name: str | None,
    namespace: str | None,
    ads_only: bool,
    notes: list[str] | None = None,
    upload: str | None = None,
    base: Path | None = None,
    plan: CodePlan | None = None,
    search: mounts.Search | None = None,
) -> list[Converted]:
    """Convert every job in ``documents`` (the pure core of the command); what is left
    out is appended to ``notes``, one line each. Local code paths (read from ``base``,
    default the current directory) are replaced by where ``plan`` says their code goes:
    its ConfigMaps are returned before their job, its uploads are left to the caller.
    File Storage mounts written by address are resolved through ``search``."""
    notes = [] if notes is None else notes
    plan = CodePlan() if plan is None else plan
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
        out: list[Converted] = []
        for document in ads_jobs:
            placed_before = len(plan.configmaps)
            document = _with_code_placed(
                document, name=name, namespace=namespace, upload=upload, base=base, plan=plan
            )
            _resolve_mounts(document, search)
            manifest = yaml_io.ads_to_manifest(document, name=name, namespace=namespace)
            out.extend(plan.configmaps[placed_before:])  # the job's code, applied first
            out.append(manifest)
        return out
    if upload:
        raise yaml_io.ConversionError("--upload applies to ADS job YAML (kind: job) only")
    if not manifests:
        raise yaml_io.ConversionError("no ADS job (kind: job) or DataScienceJob in the input")
    converted: list[Converted] = []
    for given in manifests:
        spec = yaml_io.normalise_ads_spec(given.get("spec") or {})
        yaml_io.validate_job_spec(spec)
        converted.append(yaml_io.manifest_to_ads({**given, "spec": spec}, ads_only=ads_only))
    return converted


def _with_code_placed(
    document: JsonObject,
    *,
    name: str | None,
    namespace: str | None,
    upload: str | None,
    base: Path | None,
    plan: CodePlan,
) -> JsonObject:
    """The ADS document with its local code paths replaced (spellings normalised first,
    so ``script_path_uri`` is found too)."""
    spec = document.get("spec")
    if not isinstance(spec, dict):
        return document  # ads_to_manifest says what is wrong
    spec = yaml_io.normalise_ads_spec(spec)
    runtime = spec.get("runtime")
    if isinstance(runtime, dict) and isinstance(runtime.get("spec"), dict):
        before = len(plan.configmaps)
        taken = {c["metadata"]["name"] for c in plan.configmaps}
        place_local_code(
            runtime["spec"],
            job_name=yaml_io.manifest_name(document, name),
            namespace=namespace,
            upload=upload,
            base=base or Path.cwd(),
            plan=plan,
        )
        for configmap in plan.configmaps[before:]:
            if configmap["metadata"]["name"] in taken:
                raise yaml_io.ConversionError(
                    f"two jobs put code into ConfigMap {configmap['metadata']['name']!r}: "
                    "rename a folder, or give --upload oci://bucket@namespace/prefix"
                )
    return {**copy.deepcopy(document), "spec": spec}


def _resolve_mounts(document: JsonObject, search: mounts.Search | None) -> None:
    """Replace each ``<IP>:<export path>`` mount source by the OCIDs ADS would find."""
    spec = document.get("spec")
    infrastructure = spec.get("infrastructure") if isinstance(spec, dict) else None
    infra_spec = infrastructure.get("spec") if isinstance(infrastructure, dict) else None
    found = infra_spec.get("storageMount") if isinstance(infra_spec, dict) else None
    for index, mount in enumerate(found if isinstance(found, list) else []):
        src = mount.get("src") if isinstance(mount, dict) else None
        if not isinstance(src, str) or not mounts.needs_search(src):
            continue
        where = f"spec.infrastructure.spec.storageMount[{index}].src {src!r}"
        instead = "or write <mount target OCID>:<export OCID>"
        if search is None:
            raise yaml_io.ConversionError(f"{where}: resolving it needs Resource Search; {instead}")
        try:
            mount["src"] = mounts.resolve(src, search)
        except mounts.MountNotResolvableError as exc:
            raise yaml_io.ConversionError(f"{where}: {exc}; {instead}") from None
        except (SettingsError, OciError) as exc:
            summary = exc.summary() if isinstance(exc, OciError) else str(exc)
            raise yaml_io.ConversionError(
                f"{where}: convert resolves it with Resource Search, as ADS does, and that "
                f"failed: {summary}; give --oci-config FILE (default ~/.oci/config), {instead}"
            ) from None


class _UserSearch:
    """Resource Search with the user's OCI config, built on first use: a file without
    File Storage addresses converts without credentials."""

    def __init__(self) -> None:
        self._search: FreeTextSearch | None = None

    def __call__(self, text: str) -> list[mounts.Found]:
        if self._search is None:
            self._search = FreeTextSearch(from_env())
        return self._search(text)


def _upload(plan: CodePlan, args: argparse.Namespace) -> None:
    """Put the planned objects with the user's OCI config; one line on failure."""
    try:
        settings = from_env()
        for (namespace, bucket), objects in plan.uploads.items():
            put_objects(settings, namespace=namespace, bucket=bucket, objects=objects)
    except (SettingsError, OciError) as exc:
        summary = exc.summary() if isinstance(exc, OciError) else str(exc)
        raise yaml_io.ConversionError(
            f"cannot upload to {args.upload}: {summary}; the output was not written. Give "
            "--oci-config FILE (default ~/.oci/config) with an API key that may write there"
        ) from None


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
    plan = CodePlan()
    if getattr(args, "oci_config", None):
        os.environ["ADS_OPERATOR_OCI_CONFIG_FILE"] = args.oci_config
    if getattr(args, "oci_endpoint", None):
        os.environ["ADS_OPERATOR_OCI_ENDPOINT"] = args.oci_endpoint
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
        converted = convert_documents(
            documents,
            name=args.name,
            namespace=args.namespace,
            ads_only=args.ads_only,
            notes=notes,
            upload=getattr(args, "upload", None),
            plan=plan,
            search=_UserSearch(),
        )
        if plan.uploads:
            _upload(plan, args)
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
    output = yaml.dump_all(
        converted, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=100
    )
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
