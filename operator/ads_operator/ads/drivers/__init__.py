"""The project's own driver scripts, shipped inside job artifacts.

They run inside the OCI job (any Python 3.8+ with only the standard library, plus the
``oci`` SDK for Object Storage uploads), never inside the operator. The file names are
the ones ADS uses, because ADS recognises a job's runtime type by ``JOB_RUN_ENTRYPOINT``
naming them; the code is written here from the environment-variable contract.
"""
