"""The OCI side of the operator: a narrow async port, its SDK adapter, auth and errors.

Code above this package sees only the :class:`~ads_operator.oci.port.OciPort` protocol,
frozen domain records and the error hierarchy; SDK model objects never leave the adapter.
"""
