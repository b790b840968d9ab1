"""Decisions, not actions: pure functions from desired + observed state to a plan.

Nothing here performs I/O except :mod:`.executor`, which runs a plan against the OCI port
and a status writer that the handlers pass in.
"""
