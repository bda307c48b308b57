"""Security round 2, finding 7 (and the device half of 6): RFC 8628 polling is clamped.

The review's provider answered ``interval: 1e-9`` and got 127 token polls in 6 s. The wait
between polls is now at least one second whatever the provider says, 5 s when it says
nothing, and ``slow_down`` adds 5 s. The clock is injected (`Sleeps`), so nothing waits.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_device_flow import DEVICE, TOKENS, Sleeps, error, run_flow

from anaconda_auth_async import AnacondaAuthSettings, LoginError
from anaconda_auth_async.logins.flows.device_code import parse_device_authorization
from anaconda_auth_async.testing import FakePlatform

PENDING = error("authorization_pending")


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(auth_domain="id.example.test", client_id="cli-123")


@pytest.fixture
def settings(platform: FakePlatform) -> AnacondaAuthSettings:
    return platform.settings(client_id="cli-123")


@pytest.mark.anyio
@pytest.mark.parametrize(("interval", "first"), [(1e-9, 1.0), (0.2, 1.0), ("0.5", 1.0), (3, 3)])
async def test_finding7_interval_never_below_one_second(
    platform: FakePlatform, settings: AnacondaAuthSettings, interval: Any, first: float
) -> None:
    sleeps = Sleeps()
    device = {**DEVICE, "interval": interval}
    await run_flow(
        platform,
        settings,
        device=device,
        polls=[PENDING, PENDING, error("slow_down"), PENDING, TOKENS],
        sleep=sleeps,
    )
    # never faster than 1 s; slow_down adds 5 s for the rest of the login
    assert sleeps.intervals == [first, first, first + 5, first + 5]


@pytest.mark.anyio
async def test_finding7_default_interval_is_five_seconds(
    platform: FakePlatform, settings: AnacondaAuthSettings
) -> None:
    sleeps = Sleeps()
    await run_flow(platform, settings, polls=[PENDING, error("slow_down"), TOKENS], sleep=sleeps)
    assert sleeps.intervals == [5, 10]


@pytest.mark.parametrize("field", ["interval", "expires_in"])
@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", 1e999, "1e999", "9" * 5000, "²", "٣", True, [], {"a": 1}]
)
def test_finding6_device_numbers_are_guarded(field: str, value: Any) -> None:
    """Each odd number ends in the package's own LoginError, never a foreign exception or a
    NaN/infinite wait."""
    import json

    body = json.dumps({**DEVICE, field: value}).encode()
    with pytest.raises(LoginError, match="incomplete or malformed"):
        parse_device_authorization(200, body, endpoint="https://x/device", default_expires_in=600)
