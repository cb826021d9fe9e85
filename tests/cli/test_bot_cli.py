"""The CLI as a new user meets it: examples, templates, field help (in process, no exchange)."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest

from bastion.bots.registry import BOT_TYPES, config_class, load_config
from bastion.cli.main import main
from bastion.services.bots import TEMPLATES

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_example_loads_with_the_real_config_loader(name: str) -> None:
    text = (REPO / "examples" / TEMPLATES[name]).read_text(encoding="utf-8")
    config = load_config(text)
    assert config.type == name.split("_rsi")[0]
    assert text.count("#") >= 5, "an example explains its fields"


def test_there_is_an_example_for_every_bot_type_and_the_rsi_start() -> None:
    kinds = {load_config((REPO / "examples" / f).read_text(encoding="utf-8")).type for f in TEMPLATES.values()}
    assert kinds == set(BOT_TYPES)
    dca_rsi = load_config((REPO / "examples" / TEMPLATES["dca_rsi"]).read_text(encoding="utf-8"))
    assert dca_rsi.timeframe == "15m"
    assert sorted(p.name for p in (REPO / "examples").glob("*.toml")) == sorted(TEMPLATES.values())


def test_bot_template_prints_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    main(["bot", "template", "grid"])
    printed = capsys.readouterr().out
    assert printed == resources.files("bastion.examples").joinpath("grid.toml").read_text(encoding="utf-8")
    assert load_config(printed).type == "grid"


def test_an_unknown_template_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bot", "template", "martingale"])
    assert exit_info.value.code == 2
    expected = "no template 'martingale'; expected one of dca, dca_rsi, grid, smart_trade, signal"
    assert expected in capsys.readouterr().err


def test_bot_create_help_lists_every_field_of_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    main(["bot", "create", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for kind in BOT_TYPES:
        assert f"Fields of type = '{kind}'" in text
        for item in dataclasses.fields(config_class(kind)):
            assert f"{item.name} (" in text, f"{kind}.{item.name} missing from bot create --help"
    assert "base_order_size (decimal, required)" in text
    assert "direction (long|short, long)" in text
