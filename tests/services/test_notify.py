"""Notifier over apprise, delivering to a small JSON sink on loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.errors import ConfigError
from bastion.services.notify import KINDS, NOTIFY_URLS_ENV, Notifier
from support.sink import Sink, json_sink


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with json_sink() as state:
        yield state


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_urls_notify_is_a_no_op(sink: Sink) -> None:
    notifier = Notifier()
    assert not notifier.enabled
    assert notifier.notify("deal_opened", "deal 1 opened", "bought") is False
    assert sink.received == []


def test_a_notification_reaches_the_json_sink(sink: Sink) -> None:
    notifier = Notifier([sink.url("bastion/events")])
    assert notifier.notify("deal_closed", "BTC/USDT deal 3 closed", "take profit: +1.20 USDT") is True
    [(path, body)] = sink.received
    assert path == "/bastion/events"
    assert body["title"] == "[Bastion] BTC/USDT deal 3 closed"
    assert body["message"] == "take profit: +1.20 USDT"
    assert body["type"] == "success"


def test_every_url_gets_the_notification(sink: Sink) -> None:
    notifier = Notifier([sink.url("one"), sink.url("two")])
    assert notifier.notify("leak_alert", "foreign order on main", "account paused") is True
    assert sorted(path for path, _ in sink.received) == ["/one", "/two"]
    assert {body["type"] for _, body in sink.received} == {"failure"}


def test_text_is_scrubbed_before_it_leaves(sink: Sink) -> None:
    notifier = Notifier([sink.url()])
    notifier.notify("error", "signer said api_key=ABCDEF123", "request signature=deadbeef00 secret: hunter2")
    [(_, body)] = sink.received
    assert "ABCDEF123" not in body["title"]
    assert "deadbeef00" not in body["message"]
    assert "hunter2" not in body["message"]
    assert "api_key=****" in body["title"]


def test_the_kinds_filter_sends_only_the_chosen_kinds(sink: Sink) -> None:
    notifier = Notifier([sink.url()], kinds=["leak_alert", "policy_denial"])
    assert notifier.notify("deal_opened", "deal opened", "-") is False
    assert notifier.notify("policy_denial", "order denied", "max notional") is True
    assert [body["title"] for _, body in sink.received] == ["[Bastion] order denied"]
    assert notifier.kinds == frozenset({"leak_alert", "policy_denial"})


def test_an_unknown_kind_is_logged_and_not_sent(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier([sink.url()])
    with caplog.at_level(logging.WARNING, logger="bastion.services.notify"):
        assert notifier.notify("deal_exploded", "?", "?") is False
    assert sink.received == []
    assert "notification kind 'deal_exploded' does not exist; expected one of deal_opened" in caplog.text


def test_a_sink_that_is_down_returns_false_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier([f"json://127.0.0.1:{_closed_port()}/hook"])
    with caplog.at_level(logging.WARNING, logger="bastion.services.notify"):
        assert notifier.notify("stop_loss", "stop loss on deal 4", "sold at market") is False
    assert "notification stop_loss was not delivered to every service" in caplog.text


def test_a_sink_that_refuses_returns_false(sink: Sink) -> None:
    sink.status = 500
    assert Notifier([sink.url()]).notify("error", "engine stopped", "-") is False
    assert len(sink.received) == 1


def test_a_url_apprise_does_not_understand_is_skipped_and_logged(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bastion.services.notify"):
        assert Notifier(["nonsense://token-abc/x"]).notify("error", "x", "y") is False
        assert Notifier(["nonsense://token-abc/x", sink.url()]).notify("error", "x", "y") is True
    assert "notification URL 1 (nonsense://...) is not understood by apprise" in caplog.text
    assert "token-abc" not in caplog.text


def test_an_exception_inside_apprise_is_caught(
    sink: Sink, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import apprise

    def explode(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("boom at json://127.0.0.1/hook?token=SECRET")

    monkeypatch.setattr(apprise.Apprise, "notify", explode)
    notifier = Notifier([sink.url()])
    with caplog.at_level(logging.WARNING, logger="bastion.services.notify"):
        assert notifier.notify("error", "x", "y") is False
    assert "notification error failed: RuntimeError: boom" in caplog.text


def test_repr_shows_schemes_never_urls(sink: Sink) -> None:
    notifier = Notifier(["tgram://123456:TOKEN/42", sink.url()], kinds=["error"])
    assert repr(notifier) == "Notifier(2 urls: tgram, json; kinds: error; anti-phishing phrase: none)"


def test_a_filter_with_an_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown notification kind 'deals'; expected some of deal_opened"):
        Notifier(["json://127.0.0.1:1/x"], kinds=["deals"])


# --- settings -------------------------------------------------------------------------------------


def test_settings_file_gives_urls_and_kinds(sink: Sink, tmp_path: Path) -> None:
    (tmp_path / "notifications.toml").write_text(f'urls = ["{sink.url()}"]\nkinds = ["deal_opened"]\n')
    notifier = Notifier.from_environment({}, home=tmp_path)
    assert notifier.enabled
    assert notifier.kinds == frozenset({"deal_opened"})
    assert notifier.notify("deal_opened", "opened", "-") is True
    assert notifier.notify("deal_closed", "closed", "-") is False
    assert len(sink.received) == 1


def test_the_environment_replaces_the_files_urls_and_keeps_its_kinds(sink: Sink, tmp_path: Path) -> None:
    (tmp_path / "notifications.toml").write_text('urls = ["json://127.0.0.1:1/old"]\nkinds = ["error"]\n')
    env = {NOTIFY_URLS_ENV: f" {sink.url('a')} , {sink.url('b')} ", "BASTION_HOME": str(tmp_path)}
    notifier = Notifier.from_environment(env)
    assert notifier.notify("error", "x", "y") is True
    assert sorted(path for path, _ in sink.received) == ["/a", "/b"]
    assert notifier.kinds == frozenset({"error"})


def test_the_anti_phishing_phrase_ends_every_message(sink: Sink, tmp_path: Path) -> None:
    (tmp_path / "notifications.toml").write_text(
        f'urls = ["{sink.url()}"]\nanti_phishing_phrase = "  blue heron at dawn "\n'
    )
    notifier = Notifier.from_environment({}, home=tmp_path)
    assert notifier.notify("deal_closed", "deal 3 closed", "take profit: +1.20 USDT") is True
    assert notifier.notify("leak_alert", "foreign order on main", "") is True
    bodies = [body["message"] for _, body in sink.received]
    assert bodies == [
        "take profit: +1.20 USDT\n\nAnti-phishing phrase: blue heron at dawn",
        "-\n\nAnti-phishing phrase: blue heron at dawn",
    ]
    assert "anti-phishing phrase: set" in repr(notifier)
    assert "heron" not in repr(notifier)


def test_without_a_phrase_the_body_is_left_as_it_is(sink: Sink) -> None:
    Notifier([sink.url()]).notify("error", "x", "signer unavailable")
    [(_, body)] = sink.received
    assert body["message"] == "signer unavailable"


def test_no_file_and_no_environment_is_a_disabled_notifier(tmp_path: Path) -> None:
    notifier = Notifier.from_environment({}, home=tmp_path)
    assert not notifier.enabled
    assert notifier.kinds == frozenset(KINDS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("urls = [", "notifications.toml is not valid TOML"),
        ('url = ["json://x/y"]', "unknown key 'url'; valid keys: urls, kinds, anti_phishing_phrase"),
        ("anti_phishing_phrase = 7", "anti_phishing_phrase must be a string"),
        ('anti_phishing_phrase = "abc"', "must be 4 to 64 printable characters on one line, got 3"),
        ('anti_phishing_phrase = "' + "x" * 65 + '"', "got 65 characters"),
        ('anti_phishing_phrase = "tab\\tinside"', "printable characters"),
        ('urls = "json://x/y"', "urls must be a list of apprise URLs"),
        ('urls = ["x"]', "entry 1 is not an apprise URL"),
        ('urls = []\nkinds = ["everything"]', "unknown notification kind 'everything'"),
    ],
)
def test_a_bad_settings_file_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "notifications.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Notifier.from_environment({}, home=tmp_path)
