"""Waiting out an authorization failure: the resource's Secret is read (no OCI call)
and the wait ends as soon as it appears or changes; the message reads as sentences."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ads_operator.models.oci_errors import NotAuthorizedError
from ads_operator.reconcile import outcomes
from ads_operator.settings import Settings
from ads_operator.usecases import credentials


class Secrets:
    """The Secret as the apiserver would answer each GET, one answer per read."""

    def __init__(self, *answers: Mapping[str, bytes] | None) -> None:
        self.answers = list(answers)
        self.reads = 0

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        answer = self.answers[min(self.reads, len(self.answers) - 1)]
        self.reads += 1
        return None if answer is None else dict(answer)


class FakeClock:
    def __init__(self) -> None:
        self.paused = 0.0

    async def pause(self, seconds: float) -> None:
        self.paused += seconds


def test_the_digest_tells_data_apart_and_none_is_missing() -> None:
    assert credentials.digest(None) is None
    one = credentials.digest({"config": b"a", "key": b"b"})
    assert one == credentials.digest({"key": b"b", "config": b"a"})
    assert one != credentials.digest({"config": b"a", "key": b"c"})
    assert one != credentials.digest({"config": b"ak", "ey": b"b"})


@pytest.mark.parametrize(
    ("seen", "answers", "reads"),
    [
        (None, [None, None, {"config": b"x"}], 3),  # the missing Secret is created
        ("old", [{"config": b"x"}], 1),  # a different one is there already
    ],
)
async def test_the_wait_ends_when_the_secret_appears_or_changes(
    seen: str | None,
    answers: list[Mapping[str, bytes] | None],
    reads: int,
) -> None:
    secrets, clock = Secrets(*answers), FakeClock()
    changed = await credentials.until_secret_changes(
        secrets, "demo", "oci", seen, within=300, interval=2, pause=clock.pause
    )
    assert changed
    assert secrets.reads == reads


async def test_an_unchanged_secret_waits_until_given_up() -> None:
    same = {"config": b"x"}
    secrets, clock = Secrets(same), FakeClock()
    looks = 0

    async def give_up() -> bool:
        nonlocal looks
        looks += 1
        return looks == 3

    changed = await credentials.until_secret_changes(
        secrets,
        "demo",
        "oci",
        credentials.digest(same),
        within=300,
        interval=2,
        pause=clock.pause,
        give_up=give_up,
    )
    assert not changed
    assert (secrets.reads, clock.paused) == (3, 6)


def test_the_auth_message_is_sentences_and_says_a_fixed_secret_is_retried_at_once() -> None:
    error = NotAuthorizedError("Secret 'oci' not found in namespace 'demo'")
    result = outcomes.disposition(error, attempt=0, settings=Settings())
    assert isinstance(result, outcomes.Retry)
    assert "not found in namespace 'demo'. Check the credentials" in result.message
    assert "at once when the authSecretRef Secret is created or changed" in result.message
    ended = outcomes.disposition(NotAuthorizedError("bad key."), attempt=0, settings=Settings())
    assert "bad key. Check" in ended.message
