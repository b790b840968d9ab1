"""ads-operator: OCI Data Science jobs as Kubernetes resources.

The package is importable as ``ads_operator``; its parent folder ``operator/`` is a source
root with no ``__init__.py`` on purpose, because a package named ``operator`` would shadow
the standard library module of that name.
"""

__version__ = "0.1.0.dev0"
