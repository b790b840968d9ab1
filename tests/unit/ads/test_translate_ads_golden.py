"""Our CreateJobDetails against what ADS itself sends, recorded.

The payloads under ``"ads"`` were recorded from oracle-ads 2.16.1 (``Job.from_dict(...)
.create()`` with ``DataScienceClient.create_job`` replaced by a function that captured
the request, code sources copied to local files with the same names, and ``None`` values
dropped as the SDK drops unset attributes). Recording needs ADS and its dependencies
(about 1 GB), so they are data here and the test needs only our code: if the translation
drifts from ADS, this fails.

Runs were recorded the same way from ``job.run(**ads_call)`` after ``job.create()``
(``create_job_run`` captured). Differences we keep on purpose are listed in
``KNOWN_DIFFERENCES`` / ``KNOWN_RUN_DIFFERENCES`` with the reason.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Final

import pytest

from ads_operator.ads import translate
from ads_operator.models import DataScienceJobRunSpec, DataScienceJobSpec

#: (case, dotted path) -> (ADS's value, our value, why we differ)
KNOWN_DIFFERENCES: Final[dict[tuple[str, str], tuple[Any, Any, str]]] = {
    (
        "container-multinode",
        "jobNodeConfigurationDetails.jobNodeGroupConfigurationDetailsList.0."
        "jobInfrastructureConfigurationDetails.blockStorageSizeInGBs",
    ): (
        None,
        50,
        "OCI requires blockStorageSizeInGBs for MULTI_NODE infrastructure; ADS applies its "
        "50 GB default only to single-node jobs",
    ),
}

GOLDEN: Final[dict[str, dict[str, Any]]] = {
    "container-multinode": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                    "subnetId": "ocid1.subnet.oc1.iad.aaaa",
                    "jobInfrastructureType": "MULTI_NODE",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "container",
                "spec": {
                    "image": "iad.ocir.io/t/i:1",
                    "cmd": "python, -c, print(1)",
                    "entrypoint": ["/bin/sh"],
                    "replicas": 3,
                    "env": [{"name": "E", "value": "1"}],
                    "args": ["z"],
                    "definedTags": {"NS": {"k": "rt"}},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "definedTags": {"NS": {"k": "rt"}},
            "displayName": "v-$A",
            "jobNodeConfigurationDetails": {
                "jobNetworkConfiguration": {
                    "jobNetworkType": "CUSTOM_NETWORK",
                    "subnetId": "ocid1.subnet.oc1.iad.aaaa",
                },
                "jobNodeGroupConfigurationDetailsList": [
                    {
                        "jobConfigurationDetails": {
                            "commandLineArguments": "z",
                            "environmentVariables": {"E": "1", "NODE_COUNT": "3"},
                            "jobType": "DEFAULT",
                        },
                        "jobEnvironmentConfigurationDetails": {
                            "cmd": ["python", "-c", "print(1)"],
                            "entrypoint": ["/bin/sh"],
                            "image": "iad.ocir.io/t/i:1",
                            "jobEnvironmentType": "OCIR_CONTAINER",
                        },
                        "jobInfrastructureConfigurationDetails": {
                            "jobInfrastructureType": "MULTI_NODE",
                            "shapeName": "VM.Standard.E4.Flex",
                        },
                        "minimumSuccessReplicas": 3,
                        "name": "node-group",
                        "replicas": 3,
                    }
                ],
                "jobNodeType": "MULTI_NODE",
                "startupOrder": "IN_PARALLEL",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
    "example-container-job": {
        "spec": {
            "name": "container-hello",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard.E4.Flex",
                    "shapeConfigDetails": {"ocpus": 1, "memoryInGBs": 8},
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "container",
                "spec": {
                    "image": "iad.ocir.io/exampletenancy/hello:1.0",
                    "entrypoint": ["/bin/sh", "-c"],
                    "cmd": ['echo "$GREETING from a container job"'],
                    "env": [{"name": "GREETING", "value": "Hello"}],
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "container-hello",
            "jobConfigurationDetails": {
                "environmentVariables": {"GREETING": "Hello"},
                "jobType": "DEFAULT",
            },
            "jobEnvironmentConfigurationDetails": {
                "cmd": ['echo "$GREETING from a container job"'],
                "entrypoint": ["/bin/sh", "-c"],
                "image": "iad.ocir.io/exampletenancy/hello:1.0",
                "jobEnvironmentType": "OCIR_CONTAINER",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "jobShapeConfigDetails": {"memoryInGBs": 8.0, "ocpus": 1.0},
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "example-gitpython-job": {
        "spec": {
            "name": "git-hello",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard2.1",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "gitPython",
                "spec": {
                    "url": "https://github.com/example-org/ads-operator-examples.git",
                    "branch": "main",
                    "entrypoint": "hello/hello.py",
                    "conda": {"type": "service", "slug": "generalml_p311_cpu_x86_64_v1"},
                    "skipMetadataUpdate": True,
                    "freeformTags": {"source": "git"},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "git-hello",
            "freeformTags": {"source": "git"},
            "jobConfigurationDetails": {
                "environmentVariables": {
                    "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1",
                    "CONDA_ENV_TYPE": "service",
                    "GIT_BRANCH": "main",
                    "GIT_ENTRYPOINT": "hello/hello.py",
                    "GIT_URL": "https://github.com/example-org/ads-operator-examples.git",
                    "JOB_RUN_ENTRYPOINT": "driver_oci.py",
                    "SKIP_METADATA_UPDATE": "1",
                },
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard2.1",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "example-hello-world": {
        "spec": {
            "name": "hello-world",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard.E4.Flex",
                    "shapeConfigDetails": {"ocpus": 1, "memoryInGBs": 16},
                    "blockStorageSize": 50,
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "script",
                "spec": {
                    "scriptPathURI": "configmap://hello-world/hello.py",
                    "env": [{"name": "GREETING", "value": "Howdy"}],
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "hello-world",
            "jobConfigurationDetails": {
                "environmentVariables": {"GREETING": "Howdy"},
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "jobShapeConfigDetails": {"memoryInGBs": 16.0, "ocpus": 1.0},
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "example-notebook-job": {
        "spec": {
            "name": "notebook-analysis",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard.E4.Flex",
                    "shapeConfigDetails": {
                        "ocpus": 2,
                        "memoryInGBs": 32,
                        "cpuBaseline": "BASELINE_1_2",
                    },
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "notebook",
                "spec": {
                    "notebookPathURI": "configmap://notebook-example/analysis.ipynb",
                    "excludeTags": ["skip"],
                    "notebookEncoding": "utf-8",
                    "conda": {"type": "service", "slug": "generalml_p311_cpu_x86_64_v1"},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "notebook-analysis",
            "jobConfigurationDetails": {
                "environmentVariables": {
                    "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1",
                    "CONDA_ENV_TYPE": "service",
                    "JOB_RUN_ENTRYPOINT": "driver_notebook.py",
                    "JOB_RUN_NOTEBOOK": "analysis.ipynb",
                    "NOTEBOOK_ENCODING": "utf-8",
                    "NOTEBOOK_EXCLUDE_TAGS": '["skip"]',
                },
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "jobShapeConfigDetails": {
                    "cpuBaseline": "BASELINE_1_2",
                    "memoryInGBs": 32.0,
                    "ocpus": 2.0,
                },
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "example-python-job": {
        "spec": {
            "name": "python-train-$MODEL_NAME",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard2.1",
                    "freeformTags": {"team": "data-science"},
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "python",
                "spec": {
                    "scriptPathURI": "configmap://train-code",
                    "workingDir": "train-code",
                    "entrypoint": "train.py",
                    "entryFunction": "train",
                    "conda": {"type": "service", "slug": "generalml_p311_cpu_x86_64_v1"},
                    "env": [
                        {"name": "MODEL_NAME", "value": "iris"},
                        {"name": "MODEL_DIR", "value": "/home/datascience/${MODEL_NAME}"},
                    ],
                    "args": ["--epochs", "2"],
                    "maximumRuntimeInMinutes": 30,
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "python-train-iris",
            "freeformTags": {"team": "data-science"},
            "jobConfigurationDetails": {
                "commandLineArguments": "--epochs 2",
                "environmentVariables": {
                    "CODE_ENTRYPOINT": "train.py",
                    "CONDA_ENV_SLUG": "generalml_p311_cpu_x86_64_v1",
                    "CONDA_ENV_TYPE": "service",
                    "ENTRY_FUNCTION": "train",
                    "JOB_RUN_ENTRYPOINT": "driver_python.py",
                    "MODEL_DIR": "/home/datascience/iris",
                    "MODEL_NAME": "iris",
                    "WORKING_DIR": "train-code",
                },
                "jobType": "DEFAULT",
                "maximumRuntimeInMinutes": 30,
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard2.1",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "example-pytorch-job": {
        "spec": {
            "name": "pytorch-ddp",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
                    "shapeName": "VM.Standard.E4.Flex",
                    "shapeConfigDetails": {"ocpus": 4, "memoryInGBs": 64},
                    "blockStorageSize": 100,
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "pyTorchDistributed",
                "spec": {
                    "scriptPathURI": "configmap://ddp-code",
                    "replicas": 2,
                    "command": "torchrun --nnodes=$NODE_COUNT --nproc-per-node=1 ddp-code/train.py",
                    "dependencies": {"pipPackages": "torch"},
                    "conda": {"type": "service", "slug": "pytorch21_p39_gpu_v1"},
                    "maximumRuntimeInMinutes": 120,
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment",
            "displayName": "pytorch-ddp",
            "jobNodeConfigurationDetails": {
                "jobNetworkConfiguration": {"jobNetworkType": "DEFAULT_NETWORK"},
                "jobNodeGroupConfigurationDetailsList": [
                    {
                        "jobConfigurationDetails": {
                            "environmentVariables": {
                                "CODE_ENTRYPOINT": "ddp-code",
                                "CONDA_ENV_SLUG": "pytorch21_p39_gpu_v1",
                                "CONDA_ENV_TYPE": "service",
                                "JOB_RUN_ENTRYPOINT": "driver_pytorch.py",
                                "NODE_COUNT": "2",
                                "OCI__LAUNCH_CMD": "torchrun "
                                "--nnodes=$NODE_COUNT "
                                "--nproc-per-node=1 "
                                "ddp-code/train.py",
                                "OCI__PIP_PKG": "torch",
                            },
                            "jobType": "DEFAULT",
                            "maximumRuntimeInMinutes": 120,
                        },
                        "jobInfrastructureConfigurationDetails": {
                            "blockStorageSizeInGBs": 100,
                            "jobInfrastructureType": "MULTI_NODE",
                            "jobShapeConfigDetails": {"memoryInGBs": 64.0, "ocpus": 4.0},
                            "shapeName": "VM.Standard.E4.Flex",
                        },
                        "minimumSuccessReplicas": 2,
                        "name": "node-group",
                        "replicas": 2,
                    }
                ],
                "jobNodeType": "MULTI_NODE",
                "startupOrder": "IN_PARALLEL",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaaaaaaexampleproject",
        },
    },
    "git-published": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "gitPython",
                "spec": {
                    "url": "git@github.com:o/r.git",
                    "branch": "b",
                    "commit": "abcdef1",
                    "gitSecretId": "ocid1.vaultsecret.oc1.iad.aaaa",
                    "entrypoint": "r.py",
                    "pythonPath": ["p"],
                    "conda": {"type": "service", "slug": "s2"},
                    "skipMetadataUpdate": True,
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "v-$A",
            "jobConfigurationDetails": {
                "environmentVariables": {
                    "CONDA_ENV_SLUG": "s2",
                    "CONDA_ENV_TYPE": "service",
                    "GIT_BRANCH": "b",
                    "GIT_COMMIT": "abcdef1",
                    "GIT_ENTRYPOINT": "r.py",
                    "GIT_SECRET_OCID": "ocid1.vaultsecret.oc1.iad.aaaa",
                    "GIT_URL": "git@github.com:o/r.git",
                    "JOB_RUN_ENTRYPOINT": "driver_oci.py",
                    "PYTHON_PATH": "p",
                    "SKIP_METADATA_UPDATE": "1",
                },
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
    "notebook-folder": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "notebook",
                "spec": {
                    "source": "configmap://nbs",
                    "entrypoint": "sub/a.ipynb",
                    "excludeTags": ["x", "y"],
                    "outputUri": "oci://b@ns/nb",
                    "notebookEncoding": "utf-8",
                    "conda": {"type": "service", "slug": "s1"},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "v-$A",
            "jobConfigurationDetails": {
                "environmentVariables": {
                    "CONDA_ENV_SLUG": "s1",
                    "CONDA_ENV_TYPE": "service",
                    "JOB_RUN_ENTRYPOINT": "driver_notebook.py",
                    "JOB_RUN_NOTEBOOK": "nbs/sub/a.ipynb",
                    "NOTEBOOK_ENCODING": "utf-8",
                    "NOTEBOOK_EXCLUDE_TAGS": '["x", "y"]',
                    "OUTPUT_URI": "oci://b@ns/nb",
                },
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
    "python-full": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                    "blockStorageSize": 77,
                    "subnetId": "ocid1.subnet.oc1.iad.aaaa",
                    "shapeConfigDetails": {
                        "ocpus": 2,
                        "memoryInGBs": 16,
                        "cpuBaseline": "BASELINE_1_2",
                    },
                    "logGroupId": "ocid1.loggroup.oc1.iad.aaaa",
                    "logId": "ocid1.log.oc1.iad.aaaa",
                    "storageMount": [
                        {"src": "oci://bkt@ns/pre/fix", "dest": "/opt/data/in"},
                        {
                            "src": "ocid1.mounttarget.oc1.iad.aaaa:ocid1.export.oc1.iad.bbbb",
                            "dest": "fs",
                        },
                    ],
                    "freeformTags": {"i": "infra"},
                    "definedTags": {"NS": {"k": "infra"}},
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "python",
                "spec": {
                    "scriptPathURI": "configmap://code",
                    "entrypoint": "code/main.py",
                    "workingDir": "code",
                    "pythonPath": ["lib", "x/y"],
                    "outputDir": "out",
                    "outputUri": "oci://b@ns/o/$JOB_RUN_OCID",
                    "entryFunction": "f",
                    "args": ["a b", "it's", "$X", "--k", ""],
                    "env": [
                        {"name": "A", "value": "a$$b"},
                        {"name": "B", "value": "${A}-c"},
                        {"name": "C", "value": "${NOPE} $$"},
                    ],
                    "maximumRuntimeInMinutes": 33,
                    "conda": {
                        "type": "published",
                        "uri": "oci://packs@tns/p/pack_v1",
                        "region": "eu-frankfurt-1",
                    },
                    "freeformTags": {"r": "rt"},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "definedTags": {"NS": {"k": "infra"}},
            "displayName": "v-a$b",
            "freeformTags": {"r": "rt"},
            "jobConfigurationDetails": {
                "commandLineArguments": "'a b' 'it'\"'\"'s' '$X' --k ''",
                "environmentVariables": {
                    "A": "a$b",
                    "B": "a$b-c",
                    "C": "${NOPE} $$",
                    "CODE_ENTRYPOINT": "code/main.py",
                    "CONDA_ENV_BUCKET": "packs",
                    "CONDA_ENV_NAMESPACE": "tns",
                    "CONDA_ENV_OBJECT_NAME": "p/pack_v1",
                    "CONDA_ENV_REGION": "eu-frankfurt-1",
                    "CONDA_ENV_TYPE": "published",
                    "ENTRY_FUNCTION": "f",
                    "JOB_RUN_ENTRYPOINT": "driver_python.py",
                    "OUTPUT_DIR": "out",
                    "OUTPUT_URI": "oci://b@ns/o/$JOB_RUN_OCID",
                    "PYTHON_PATH": "lib:x/y",
                    "WORKING_DIR": "code",
                },
                "jobType": "DEFAULT",
                "maximumRuntimeInMinutes": 33,
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 77,
                "jobInfrastructureType": "STANDALONE",
                "jobShapeConfigDetails": {
                    "cpuBaseline": "BASELINE_1_2",
                    "memoryInGBs": 16.0,
                    "ocpus": 2.0,
                },
                "shapeName": "VM.Standard.E4.Flex",
                "subnetId": "ocid1.subnet.oc1.iad.aaaa",
            },
            "jobLogConfigurationDetails": {
                "enableAutoLogCreation": False,
                "enableLogging": True,
                "logGroupId": "ocid1.loggroup.oc1.iad.aaaa",
                "logId": "ocid1.log.oc1.iad.aaaa",
            },
            "jobStorageMountConfigurationDetailsList": [
                {
                    "bucket": "bkt",
                    "destinationDirectoryName": "in",
                    "destinationPath": "/opt/data",
                    "namespace": "ns",
                    "prefix": "pre/fix",
                    "storageType": "OBJECT_STORAGE",
                },
                {
                    "destinationDirectoryName": "fs",
                    "exportId": "ocid1.export.oc1.iad.bbbb",
                    "mountTargetId": "ocid1.mounttarget.oc1.iad.aaaa",
                    "storageType": "FILE_STORAGE",
                },
            ],
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
    "pytorch-single": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "pyTorchDistributed",
                "spec": {
                    "scriptPathURI": "configmap://ddp",
                    "entrypoint": "ddp/t.py",
                    "command": "torchrun ddp/t.py",
                    "inputs": {"oci://b@ns/d": "data"},
                    "dependencies": {"pipPackages": "numpy"},
                    "deepspeed": True,
                    "conda": {"type": "service", "slug": "s3"},
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "v-$A",
            "jobConfigurationDetails": {
                "environmentVariables": {
                    "CODE_ENTRYPOINT": "ddp/t.py",
                    "CONDA_ENV_SLUG": "s3",
                    "CONDA_ENV_TYPE": "service",
                    "JOB_RUN_ENTRYPOINT": "driver_pytorch.py",
                    "NODE_COUNT": "1",
                    "OCI__DEEPSPEED": "1",
                    "OCI__INPUT_MAPPINGS": '{"oci://b@ns/d": "data"}',
                    "OCI__LAUNCH_CMD": "torchrun ddp/t.py",
                    "OCI__PIP_PKG": "numpy",
                },
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
    "script-folder": {
        "spec": {
            "name": "v-$A",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard.E4.Flex",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "script",
                "spec": {
                    "scriptPathURI": "configmap://tools",
                    "entrypoint": "tools/run.sh",
                    "env": [{"name": "A", "value": "q"}],
                },
            },
        },
        "ads": {
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "v-q",
            "jobConfigurationDetails": {
                "environmentVariables": {"A": "q", "JOB_RUN_ENTRYPOINT": "tools/run.sh"},
                "jobType": "DEFAULT",
            },
            "jobInfrastructureConfigurationDetails": {
                "blockStorageSizeInGBs": 50,
                "jobInfrastructureType": "ME_STANDALONE",
                "shapeName": "VM.Standard.E4.Flex",
            },
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
        },
    },
}


def _set(document: dict[str, Any], path: str, value: Any) -> Any:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if re.fullmatch(r"\d+", part) else node[part]
    previous = node.get(last)
    node[last] = value
    return previous


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_job_details_match_what_ads_sends(case: str) -> None:
    spec = DataScienceJobSpec.model_validate(GOLDEN[case]["spec"])
    expected = copy.deepcopy(GOLDEN[case]["ads"])
    for (name, path), (ads_value, our_value, _) in KNOWN_DIFFERENCES.items():
        if name == case:
            assert _set(expected, path, our_value) == ads_value
    assert translate.job_details(spec) == expected


def test_every_known_difference_belongs_to_a_case() -> None:
    assert {name for name, _ in KNOWN_DIFFERENCES} <= set(GOLDEN)
    assert {name for name, _ in KNOWN_RUN_DIFFERENCES} <= set(GOLDEN_RUNS)


_JOB_ID = "ocid1.datasciencejob.oc1.iad.aaaaaaaaexamplejob"
_GROUP = "jobNodeConfigurationOverrideDetails.jobNodeGroupConfigurationDetailsList.0."

#: (case, dotted path) -> (ADS's value, our value, why we differ)
KNOWN_RUN_DIFFERENCES: Final[dict[tuple[str, str], tuple[Any, Any, str]]] = {
    ("container-override", "jobEnvironmentConfigurationOverrideDetails.entrypoint"): (
        None,
        ["/bin/sh", "-c"],
        "an override carries the job's other container fields: OCI does not document a "
        "field-by-field merge",
    ),
    ("multinode-override", _GROUP + "jobConfigurationDetails"): (
        None,
        {"environmentVariables": {"E": "1"}, "jobType": "DEFAULT"},
        "ADS writes JobConfigurationDetails (capitalised), which the SDK drops: its "
        "multi-node run overrides never reach OCI",
    ),
    ("multinode-override", _GROUP + "jobEnvironmentConfigurationDetails"): (
        None,
        {"image": "iad.ocir.io/t/i:3", "jobEnvironmentType": "OCIR_CONTAINER"},
        "same ADS bug as above, for the container override",
    ),
}

GOLDEN_RUNS: Final[dict[str, dict[str, Any]]] = {
    "container-override": {
        "job": {
            "name": "c",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard2.1",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "container",
                "spec": {
                    "image": "iad.ocir.io/t/i:1",
                    "entrypoint": ["/bin/sh", "-c"],
                    "cmd": ["echo hi"],
                },
            },
        },
        "run": {
            "jobRef": {"name": "c"},
            "name": "c-run",
            "image": "iad.ocir.io/t/i:2",
            "cmd": ["echo", "bye"],
        },
        "ads_call": {"name": "c-run", "image": "iad.ocir.io/t/i:2", "cmd": "echo, bye"},
        "ads": {
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "c-run",
            "jobId": "ocid1.datasciencejob.oc1.iad.aaaaaaaaexamplejob",
            "jobEnvironmentConfigurationOverrideDetails": {
                "jobEnvironmentType": "OCIR_CONTAINER",
                "image": "iad.ocir.io/t/i:2",
                "cmd": ["echo", "bye"],
            },
        },
    },
    "multinode-override": {
        "job": {
            "name": "m",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard2.1",
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "container",
                "spec": {"image": "iad.ocir.io/t/i:1", "replicas": 2},
            },
        },
        "run": {
            "jobRef": {"name": "m"},
            "name": "m-run",
            "envVars": {"E": "1"},
            "image": "iad.ocir.io/t/i:3",
        },
        "ads_call": {"name": "m-run", "env_var": {"E": "1"}, "image": "iad.ocir.io/t/i:3"},
        "ads": {
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "m-run",
            "jobId": "ocid1.datasciencejob.oc1.iad.aaaaaaaaexamplejob",
            "jobNodeConfigurationOverrideDetails": {
                "jobNodeType": "MULTI_NODE",
                "jobNodeGroupConfigurationDetailsList": [{"name": "node-group"}],
            },
        },
    },
    "script-run": {
        "job": {
            "name": "j",
            "infrastructure": {
                "kind": "infrastructure",
                "type": "dataScienceJob",
                "spec": {
                    "compartmentId": "ocid1.compartment.oc1..aaaa",
                    "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
                    "shapeName": "VM.Standard2.1",
                    "freeformTags": {"infra": "never"},
                },
            },
            "runtime": {
                "kind": "runtime",
                "type": "container",
                "spec": {
                    "image": "iad.ocir.io/t/i:1",
                    "env": [{"name": "A", "value": "job"}],
                    "freeformTags": {"t": "rt", "only": "rt"},
                    "definedTags": {"NS": {"k": "rt"}},
                },
            },
        },
        "run": {
            "jobRef": {"name": "j"},
            "name": "r-$A-$B",
            "args": "--x 1 'y z'",
            "envVars": {"B": "run"},
            "freeformTags": {"t": "run", "r": "run"},
            "definedTags": {"NS": {"k": "run"}, "N2": {"q": "run"}},
            "maximumRuntimeInMinutes": 7,
        },
        "ads_call": {
            "name": "r-$A-$B",
            "args": "--x 1 'y z'",
            "env_var": {"B": "run"},
            "freeform_tags": {"t": "run", "r": "run"},
            "defined_tags": {"NS": {"k": "run"}, "N2": {"q": "run"}},
            "maximum_runtime_in_minutes": 7,
        },
        "ads": {
            "projectId": "ocid1.datascienceproject.oc1.iad.aaaa",
            "compartmentId": "ocid1.compartment.oc1..aaaa",
            "displayName": "r-job-run",
            "jobId": "ocid1.datasciencejob.oc1.iad.aaaaaaaaexamplejob",
            "jobConfigurationOverrideDetails": {
                "jobType": "DEFAULT",
                "environmentVariables": {"B": "run"},
                "commandLineArguments": "--x 1 'y z'",
                "maximumRuntimeInMinutes": 7,
            },
            "freeformTags": {"t": "rt", "r": "run", "only": "rt"},
            "definedTags": {"NS": {"k": "rt"}, "N2": {"q": "run"}},
        },
    },
}


@pytest.mark.parametrize("case", sorted(GOLDEN_RUNS))
def test_run_details_match_what_ads_sends(case: str) -> None:
    job_spec = DataScienceJobSpec.model_validate(GOLDEN_RUNS[case]["job"])
    run_spec = DataScienceJobRunSpec.model_validate(GOLDEN_RUNS[case]["run"])
    expected = copy.deepcopy(GOLDEN_RUNS[case]["ads"])
    for (name, path), (ads_value, our_value, _) in KNOWN_RUN_DIFFERENCES.items():
        if name == case:
            assert _set(expected, path, our_value) == ads_value
    details = translate.run_details(
        job_spec,
        run_spec,
        job_id=_JOB_ID,
        project_id=job_spec.infrastructure.spec.project_id or "",
        compartment_id=job_spec.infrastructure.spec.compartment_id or "",
    )
    assert details == expected
