"""Driver of the ``python`` runtime: runs ``code/$CODE_ENTRYPOINT`` with ADS's contract.

The service starts this file (``JOB_RUN_ENTRYPOINT=driver_python.py``) with the job's
command-line arguments; they are passed on to the user's entrypoint.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ads_operator.ads.drivers import driver_notebook, driver_utils
else:
    import driver_notebook
    import driver_utils


def main(argv: list[str] | None = None) -> int:
    entrypoint = os.environ.get("CODE_ENTRYPOINT")
    if not entrypoint:
        driver_utils.log("CODE_ENTRYPOINT is not set")
        return 2
    return driver_utils.run_python_code(
        driver_utils.code_dir(),
        entrypoint,
        sys.argv[1:] if argv is None else argv,
        driver_notebook.run_notebook,
    )


if __name__ == "__main__":
    sys.exit(main())
