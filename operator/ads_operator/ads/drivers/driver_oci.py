"""Driver of the ``gitPython`` runtime: clone a repository, then run it like ``python``.

Reads ``GIT_URL``, ``GIT_BRANCH``, ``GIT_COMMIT``, ``GIT_ENTRYPOINT`` (relative to the
repository root), ``GIT_SECRET_OCID`` (a Vault secret holding an SSH private key),
``CODE_DIR`` (where to clone; default ``~/Code``) and the python keys (``WORKING_DIR``
relative to the repository root, ``PYTHON_PATH``, ``ENTRY_FUNCTION``, ``OUTPUT_DIR``,
``OUTPUT_URI``). Unless ``SKIP_METADATA_UPDATE`` is set it records the repository and
commit as freeform tags on the job run, best effort (it needs permission to update job
runs, and a run must never fail for want of a tag).
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ads_operator.ads.drivers import driver_notebook, driver_utils
else:
    import driver_notebook
    import driver_utils


def _git(args: list[str], cwd: str | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def _ssh_key_from_vault(secret_id: str) -> str:
    """Write the SSH key in the Vault secret to a private file; return its path."""
    import oci

    signer = oci.auth.signers.get_resource_principals_signer()
    client = oci.secrets.SecretsClient({}, signer=signer)
    bundle = client.get_secret_bundle(secret_id).data
    key = base64.b64decode(bundle.secret_bundle_content.content)
    handle, path = tempfile.mkstemp(prefix="git-key-")
    with os.fdopen(handle, "wb") as out:
        out.write(key)
    os.chmod(path, 0o600)
    return path


def clone(url: str, branch: str | None, commit: str | None, into: str, key: str | None) -> str:
    """Clone ``url`` into a new folder under ``into`` and check out branch/commit."""
    env = dict(os.environ)
    if key:
        env["GIT_SSH_COMMAND"] = f"ssh -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no"
    os.makedirs(into, exist_ok=True)
    name = os.path.basename(url.rstrip("/")) or "repo"
    name = name[:-4] if name.endswith(".git") else name
    target = tempfile.mkdtemp(prefix=f"{name}-", dir=into)
    command = ["git", "clone", "--quiet"]
    if branch:
        command += ["--branch", branch]
    subprocess.run([*command, url, target], check=True, env=env)
    if commit:
        subprocess.run(["git", "checkout", "--quiet", commit], cwd=target, check=True, env=env)
    return target


def _record_metadata(tags: dict[str, str]) -> None:
    run_id = os.environ.get("JOB_RUN_OCID")
    # Only with a real resource principal token: anywhere else (a laptop, an emulator)
    # there is nobody to ask, and trying would only slow the run down.
    if not run_id or not os.environ.get("OCI_RESOURCE_PRINCIPAL_RPST"):
        return
    try:
        import oci

        signer = oci.auth.signers.get_resource_principals_signer()
        client = oci.data_science.DataScienceClient({}, signer=signer)
        current = client.get_job_run(run_id).data.freeform_tags or {}
        current.update(tags)
        client.update_job_run(
            run_id, oci.data_science.models.UpdateJobRunDetails(freeform_tags=current)
        )
    except Exception as exc:
        driver_utils.log(f"could not record git metadata on the run: {exc}")


def main(argv: list[str] | None = None) -> int:
    url = os.environ.get("GIT_URL")
    entrypoint = os.environ.get("GIT_ENTRYPOINT")
    if not url or not entrypoint:
        driver_utils.log("GIT_URL and GIT_ENTRYPOINT must be set")
        return 2
    secret = os.environ.get("GIT_SECRET_OCID")
    key = _ssh_key_from_vault(secret) if secret else None
    into = os.path.expanduser(os.environ.get("CODE_DIR") or "~/Code")
    driver_utils.log(f"cloning {url}")
    try:
        repo = clone(url, os.environ.get("GIT_BRANCH"), os.environ.get("GIT_COMMIT"), into, key)
    except subprocess.CalledProcessError as exc:
        # git has said why on stderr (the line above); one more line, no traceback.
        driver_utils.log(
            f"{shlex.join(exc.cmd[:2])} of {url} failed with exit code {exc.returncode}"
        )
        return exc.returncode
    commit = _git(["rev-parse", "HEAD"], cwd=repo)
    driver_utils.log(f"checked out {commit}")
    if not os.environ.get("SKIP_METADATA_UPDATE"):
        tags = {"repo": url, "commit": commit, "module": entrypoint}
        if os.environ.get("ENTRY_FUNCTION"):
            tags["method"] = os.environ["ENTRY_FUNCTION"]
        _record_metadata(tags)
    argv = sys.argv[1:] if argv is None else argv
    return driver_utils.run_python_code(repo, entrypoint, argv, driver_notebook.run_notebook)


if __name__ == "__main__":
    sys.exit(main())
