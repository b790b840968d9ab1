"""Driver of the ``notebook`` runtime: executes a notebook's code cells in order.

Reads ``JOB_RUN_NOTEBOOK`` (path under ``code/``), ``NOTEBOOK_ENCODING`` (default
utf-8), ``NOTEBOOK_EXCLUDE_TAGS`` (JSON list: cells with any of these tags are skipped)
and ``OUTPUT_URI`` (where the executed notebook is copied).

It needs no Jupyter installation: cells run in one shared namespace in this
interpreter, their printed output is both streamed to the job log and stored in the
executed copy. Shell escapes (``!cmd``) run through the shell; other IPython magics
(``%...``) are skipped with a note, since there is no IPython kernel.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ads_operator.ads.drivers import driver_utils

    #: A notebook or one of its cells: nbformat JSON, read and written back as it is
    #: (free-form). Only for the type checker: the job's Python never evaluates it.
    NotebookJson = dict[str, Any]
else:
    import driver_utils


class _Tee(io.TextIOBase):
    """Writes to the real stream and keeps a copy for the cell's outputs."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.stream.flush()
        return self.copy.write(text)


def _cell_source(cell: NotebookJson) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _python_of(source: str) -> str:
    """The cell as plain Python: ``!cmd`` lines become shell calls, magics are dropped."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!"):
            lines.append(f"{indent}__driver_shell__({stripped[1:]!r})")
        elif stripped.startswith("%"):
            lines.append(f"{indent}pass  # skipped IPython magic: {stripped!r}")
        else:
            lines.append(line)
    return "\n".join(lines)


def _shell(command: str) -> None:
    code = subprocess.call(command, shell=True)  # noqa: S602 - the notebook author's command
    if code != 0:
        raise RuntimeError(f"shell command failed with exit code {code}: {command}")


def execute(notebook: NotebookJson, exclude_tags: list[str]) -> str | None:
    """Run the code cells in place (outputs recorded); returns the error text if a cell
    failed, else None."""
    namespace: dict[str, object] = {"__name__": "__main__", "__driver_shell__": _shell}
    count = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in exclude_tags for tag in tags):
            continue
        count += 1
        out, err = _Tee(sys.stdout), _Tee(sys.stderr)
        error = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = compile(_python_of(_cell_source(cell)), f"<cell {count}>", "exec")
                exec(code, namespace)  # noqa: S102 - running the notebook is the job
            except SystemExit as exc:
                if driver_utils.exit_code_of(exc) != 0:
                    error = f"cell {count} exited with {exc.code}"
            except BaseException:
                error = traceback.format_exc()
                sys.stderr.write(error)
        cell["execution_count"] = count
        cell["outputs"] = [
            {"output_type": "stream", "name": name, "text": tee.copy.getvalue()}
            for name, tee in (("stdout", out), ("stderr", err))
            if tee.copy.getvalue()
        ]
        if error is not None:
            return error
    return None


def run_notebook(path: str) -> int:
    """Execute the notebook at ``path`` from its own directory; copy the executed
    notebook to ``OUTPUT_URI`` if set. Returns the exit code."""
    encoding = os.environ.get("NOTEBOOK_ENCODING") or "utf-8"
    exclude = json.loads(os.environ.get("NOTEBOOK_EXCLUDE_TAGS") or "[]")
    with open(path, encoding=encoding) as handle:
        notebook = json.load(handle)
    os.chdir(os.path.dirname(os.path.abspath(path)) or ".")
    driver_utils.log(f"executing notebook {os.path.basename(path)}")
    error = execute(notebook, list(exclude))
    output_uri = os.environ.get("OUTPUT_URI")
    if output_uri:
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, os.path.basename(path)), "w", encoding=encoding) as f:
                json.dump(notebook, f, indent=1)
            driver_utils.upload_directory(folder, output_uri)
        driver_utils.log(f"copied the executed notebook to {os.path.expandvars(output_uri)}")
    return 1 if error is not None else 0


def main() -> int:
    notebook = os.environ.get("JOB_RUN_NOTEBOOK")
    if not notebook:
        driver_utils.log("JOB_RUN_NOTEBOOK is not set")
        return 2
    root = driver_utils.code_dir()
    sys.path.insert(0, root)
    return run_notebook(os.path.join(root, notebook))


if __name__ == "__main__":
    sys.exit(main())
