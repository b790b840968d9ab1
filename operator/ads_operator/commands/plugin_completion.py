"""``kubectl_complete-ads WORD...``: what may follow ``kubectl ads WORD...``.

kubectl (1.26 and later) completes ``kubectl ads <TAB>`` by running this executable with
the words typed so far, the last one being the word under the cursor, and reads cobra's
answer: the candidates one a line, then a directive line (``:4``: offer no file names).
The script of ``kubectl ads completion bash|zsh`` asks it the same way. Subcommands and
flags come from the plugin's own parser, job and run names from the cluster.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Sequence

from ads_operator.commands.plugin import RUN_COMMANDS, build_parser
from ads_operator.commands.plugin_cluster import Cluster, PluginError
from ads_operator.models import JOB_PLURAL, RUN_PLURAL


def candidates(words: Sequence[str], names: Callable[[str, str | None], list[str]]) -> list[str]:
    """What may come next after ``kubectl ads <words>`` (the last word is the one being
    typed, possibly empty); ``names(plural, namespace)`` lists resources."""
    *before, current = list(words) or [""]
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = [c for c in sub.choices if not before]
    command = next((w for w in before if w in sub.choices), None)
    if command is None:
        found = commands
    elif current.startswith("-"):
        found = [o for a in sub.choices[command]._actions for o in a.option_strings]
    elif command in ("run", *RUN_COMMANDS) and (not before or not before[-1].startswith("-")):
        namespace = next(
            (b for a, b in itertools.pairwise(before) if a in ("-n", "--namespace")),
            None,
        )
        found = names(JOB_PLURAL if command == "run" else RUN_PLURAL, namespace)
    else:
        found = []
    return sorted(c for c in found if c.startswith(current))


def _cluster_names(plural: str, namespace: str | None) -> list[str]:
    options = argparse.Namespace(**({"namespace": namespace} if namespace else {}))
    try:
        return Cluster(options).names(plural)
    except PluginError:
        return []


def complete() -> int:
    """``kubectl_complete-ads WORD...``: the candidates one a line, then cobra's directive
    ``:4`` (no file names), the protocol kubectl's completion speaks to plugins."""
    for candidate in candidates(sys.argv[1:], _cluster_names):
        print(candidate)
    print(":4")
    return 0
