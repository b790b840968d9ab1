"""Source URIs that work in a cluster; local paths refused with a hint."""

from __future__ import annotations

import pytest

from ads_operator.ads.sources import SourceError, SourceKind, parse_source


def test_object_storage_object_and_prefix() -> None:
    source = parse_source("oci://bucket@namespace/path/to/train.py")
    assert (source.kind, source.bucket, source.namespace, source.path) == (
        SourceKind.OBJECT_STORAGE,
        "bucket",
        "namespace",
        "path/to/train.py",
    )
    assert source.basename == "train.py"
    assert source.is_folder is None  # an object or a prefix: only the reader can tell
    folder = parse_source("oci://bucket@namespace/code/")
    assert folder.is_folder is True
    assert folder.basename == "code"
    assert parse_source("oci://bucket@namespace").basename == "bucket"


def test_https() -> None:
    source = parse_source("https://example.com/files/train.py?version=2")
    assert source.kind is SourceKind.HTTPS
    assert source.basename == "train.py"
    assert source.is_folder is False


def test_configmap_key_and_whole_configmap() -> None:
    key = parse_source("configmap://hello-world/hello.py")
    assert (key.kind, key.bucket, key.path, key.basename, key.is_folder) == (
        SourceKind.CONFIGMAP,
        "hello-world",
        "hello.py",
        "hello.py",
        False,
    )
    whole = parse_source("configmap://train-code")
    assert (whole.path, whole.basename, whole.is_folder) == ("", "train-code", True)


@pytest.mark.parametrize("uri", ["/home/me/train.py", "train.py", "./code", "C:/x.py"])
def test_local_paths_are_refused_with_a_configmap_hint(uri: str) -> None:
    with pytest.raises(SourceError, match=r"configmap://NAME/FILE") as caught:
        parse_source(uri)
    assert "kubectl create configmap" in str(caught.value)


def test_file_uri_is_a_local_path() -> None:
    with pytest.raises(SourceError, match="local file"):
        parse_source("file:///tmp/train.py")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.com/a.py", "unsupported scheme 'http'"),
        ("s3://bucket/a.py", "unsupported scheme 's3'"),
        ("oci://bucket/a.py", "bucket@namespace"),
        ("oci://@ns/a.py", "bucket@namespace"),
        ("configmap://Bad_Name/a.py", "not a valid ConfigMap name"),
        ("configmap://ok/a b.py", "not a valid ConfigMap key"),
        ("https:///nohost", "needs a host"),
    ],
)
def test_malformed_sources(uri: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_source(uri)
