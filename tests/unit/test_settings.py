"""Settings from the environment, with the guards that keep OCI calls where intended."""

from __future__ import annotations

import pytest

from ads_operator.settings import AuthMode, SettingsError, describe, from_env


def test_defaults_and_overrides() -> None:
    assert from_env({}).log_grace == 90.0
    s = from_env(
        {
            "ADS_OPERATOR_LOG_GRACE": "3",
            "ADS_OPERATOR_AUTH": "instance_principal",
            "ADS_OPERATOR_OCI_ENDPOINT": "http://127.0.0.1:8123",
            "ADS_OPERATOR_LOG_TAIL_LINES": "10",
        }
    )
    assert s.log_grace == 3.0
    assert s.auth is AuthMode.INSTANCE_PRINCIPAL
    assert s.oci_endpoint == "http://127.0.0.1:8123"
    assert s.log_tail_lines == 10


def test_logs_are_read_once_settled_without_a_re_read_by_default() -> None:
    assert from_env({}).log_settle == 10.0
    assert from_env({}).log_overlap == 0.0
    s = from_env({"ADS_OPERATOR_LOG_SETTLE": "0", "ADS_OPERATOR_LOG_OVERLAP": "30"})
    assert (s.log_settle, s.log_overlap) == (0.0, 30.0)


@pytest.mark.parametrize("endpoint", ["http://10.0.0.5:8080", "https://example.com"])
def test_non_loopback_endpoints_need_explicit_permission(endpoint: str) -> None:
    with pytest.raises(SettingsError, match="loopback"):
        from_env({"ADS_OPERATOR_OCI_ENDPOINT": endpoint})
    allowed = from_env(
        {"ADS_OPERATOR_OCI_ENDPOINT": endpoint, "ADS_OPERATOR_ALLOW_REMOTE_ENDPOINT": "true"}
    )
    assert allowed.oci_endpoint == endpoint


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADS_OPERATOR_LOG_EVENT_MAX_BYTES", "2048"),
        ("ADS_OPERATOR_LOG_TAIL_LINES", "500"),
        ("ADS_OPERATOR_POLL_INTERVAL", "0"),
        ("ADS_OPERATOR_AUTH", "password"),
        ("ADS_OPERATOR_ALLOW_REMOTE_ENDPOINT", "maybe"),
        ("ADS_OPERATOR_LOG_GRACE", "soon"),
        ("ADS_OPERATOR_LOG_SETTLE", "-1"),
        ("ADS_OPERATOR_LOG_SETTLE", "nan"),
        ("ADS_OPERATOR_LOG_OVERLAP", "-5"),
        ("ADS_OPERATOR_LOG_OVERLAP", "inf"),
        ("ADS_OPERATOR_OCI_CONNECT_TIMEOUT", "0"),
        ("ADS_OPERATOR_BACKOFF_MAX", "-1"),
        ("ADS_OPERATOR_RUN_BATCH_MIN", "0"),
        ("ADS_OPERATOR_POLL_INTERVAL", "1e12"),
        ("ADS_OPERATOR_CLUSTER_ID", ""),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        from_env({name: value})


def test_every_setting_is_described() -> None:
    names = [name for name, _ in describe()]
    assert "ADS_OPERATOR_OCI_ENDPOINT" in names
    assert all(n.startswith("ADS_OPERATOR_") for n in names)


def test_an_out_of_range_value_is_named_with_its_limits() -> None:
    with pytest.raises(SettingsError) as refused:
        from_env({"ADS_OPERATOR_LOG_TAIL_LINES": "500"})
    assert str(refused.value) == (
        "ADS_OPERATOR_LOG_TAIL_LINES=500 is out of range: it must be at least 0 and at most 50"
    )


def test_whole_numbers_in_helms_exponent_form_are_read() -> None:
    """Helm renders a values file's 1000000 as `1e+06`; the operator must take it."""
    assert from_env({"ADS_OPERATOR_LOG_EVENTS_PER_MINUTE": "1e+06"}).log_events_per_minute == (
        1000000
    )
    with pytest.raises(SettingsError, match="not a whole number"):
        from_env({"ADS_OPERATOR_LOG_EVENTS_PER_MINUTE": "2.5"})
