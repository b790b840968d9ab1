"""oci_emulator: a local stand-in for the OCI services ads-operator calls.

Data Science jobs and job runs, Logging (management and search) and Object Storage,
spoken over HTTP exactly as the real ``oci`` SDK expects, with request signatures
verified. It never imports ``ads_operator``: the two must not be able to share a bug.
"""

__version__ = "0.1.0.dev0"
