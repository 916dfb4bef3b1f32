"""`make run` rents from the real Vast.ai only when asked to, with a key and a price cap, and says so."""

from __future__ import annotations

import os

import pytest

from local_stack.__main__ import _real_vast
from local_stack.marketplace import LocalMarketplace
from local_stack.stack import LocalStackConfig, RealVast, _provider_environment


def test_the_local_marketplace_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAST_API_KEY", "a-real-key")
    monkeypatch.delenv("DUMONT_REAL_VAST", raising=False)
    assert _real_vast(os.environ) is None
    with LocalMarketplace() as marketplace:
        environment = _provider_environment(LocalStackConfig(), marketplace)
        assert environment["VAST_API_URL"] == marketplace.url
        assert environment["VAST_API_KEY"] == marketplace.api_key == "local-marketplace-key"


def test_asking_without_a_price_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUMONT_REAL_VAST", "1")
    monkeypatch.setenv("VAST_API_KEY", "a-real-key")
    monkeypatch.delenv("VAST_MAX_PRICE_PER_HOUR", raising=False)
    with pytest.raises(SystemExit, match="VAST_MAX_PRICE_PER_HOUR"):
        _real_vast(os.environ)


def test_asking_with_a_key_and_a_cap_rents_under_the_cap_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUMONT_REAL_VAST", "1")
    monkeypatch.setenv("VAST_API_KEY", "a-real-key")
    monkeypatch.setenv("VAST_MAX_PRICE_PER_HOUR", "0.5")
    monkeypatch.delenv("VAST_API_URL", raising=False)
    real = _real_vast(os.environ)
    assert real == RealVast(api_key="a-real-key", max_price_per_hour=0.5)
    assert "REAL VAST.AI" in capsys.readouterr().out
    environment = _provider_environment(LocalStackConfig(real_vast=real), LocalMarketplace())
    assert environment["VAST_API_KEY"] == "a-real-key"
    assert environment["MAX_PRICE_PER_HOUR"] == "0.5"
    assert environment["VAST_API_URL"] == "https://console.vast.ai"
