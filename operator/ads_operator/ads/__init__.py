"""ADS semantics without ADS: what a DataScienceJob means to OCI.

Pure translation (spec -> CreateJobDetails / CreateJobRunDetails as camelCase dicts), the
environment-variable contract ADS reads jobs back with, artifact layouts from source
files the caller reads (no network I/O here), ADS YAML import/export, and the project's
own driver scripts (``drivers/``).
"""
