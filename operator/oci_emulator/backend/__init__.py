"""The emulator's state and business rules, independent of HTTP.

``store`` persists everything in SQLite; ``datascience``, ``logging`` and ``objectstorage``
implement each service's operations on top of it and raise :mod:`oci_emulator.errors`.
"""
