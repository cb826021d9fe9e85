"""The bot form <-> TOML: a form field per config key, turned into the TOML text the loader reads.

The form validates nothing itself: :func:`form_to_toml` writes the TOML a user would have
written, and :func:`bastion.bots.registry.load_config` (the loader of ``bot create --config``)
checks it, so the form and the files refuse the same things with the same messages. Only the
shape of a nested table is checked here (it must be inline TOML), to name the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bastion.errors import ValidationError

__all__ = ["FormField", "form_fields", "form_to_toml", "toml_to_values"]

#: The bot types a form can create, with the label shown.
KINDS: dict[str, str] = {"dca": "DCA", "grid": "Grid", "smart_trade": "SmartTrade", "signal": "Signal"}


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    """One config key as a form input: its name, value kind, default and the choices of a literal."""

    name: str
    kind: str
    default: str
    choices: tuple[str, ...]
    required: bool
    fixed: bool

    @property
    def is_table(self) -> bool:
        """True for a nested table or a list of tables (typed as inline TOML)."""
        return self.kind in ("table", "list of table")


def form_fields(kind: str) -> list[FormField]:
    """Return the form inputs of bot type ``kind``, read from its config class (as ``bot create --help``)."""
    from bastion.services.bots import config_fields

    if kind not in KINDS:
        raise ValidationError(f"no bot type {kind!r}; expected one of {', '.join(KINDS)}")
    out = []
    for name, value_kind, default in config_fields(kind):
        literal = "|" in value_kind and not value_kind.startswith("list of")
        out.append(
            FormField(
                name=name,
                kind=value_kind,
                default=default,
                choices=tuple(value_kind.split("|")) if literal else (),
                required=default == "required",
                fixed=name == "type",
            )
        )
    return out


def _string(text: str) -> str:
    if any(ord(c) < 0x20 and c != "\t" for c in text):
        raise ValidationError(f"{text[:40]!r} holds a control character; expected plain text")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit()


def _value(field: FormField, text: str) -> str:
    if field.is_table:
        try:
            tomllib.loads(f"x = {text}")
        except tomllib.TOMLDecodeError as error:
            example = '{type = "asap"}' if field.kind == "table" else '[{amount_pct = "50", profit_pct = "1"}]'
            raise ValidationError(
                f"field {field.name}: {text[:80]!r} is not inline TOML ({error}); expected e.g. {example}"
            ) from None
        return text
    if field.kind.startswith("list of"):
        return "[" + ", ".join(_string(part.strip()) for part in text.split(",") if part.strip()) + "]"
    if field.kind == "int" and _is_int(text):
        return text
    if field.kind == "bool" and text in ("true", "false"):
        return text
    return _string(text)  # decimals as text (never a float); a bad int or bool is named by the loader


def form_to_toml(kind: str, values: Mapping[str, str]) -> str:
    """Return the TOML of a bot config from form values (key -> text); empty values keep the default.

    Raises
    ------
    ValidationError
        A nested table is not inline TOML, or a text holds a control character.
    """
    lines = [f'type = "{kind}"']
    for field in form_fields(kind):
        if field.fixed:
            continue
        text = values.get(field.name, "").strip()
        if not text:
            continue
        lines.append(f"{field.name} = {_value(field, text)}")
    return "\n".join(lines) + "\n"


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    return _string(str(value))


def toml_to_values(text: str) -> dict[str, str]:
    """Return form values (key -> text) of a stored bot config, for the edit form.

    Raises
    ------
    ValidationError
        The text is not TOML.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationError(f"the config is not valid TOML: {error}") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = ", ".join(value)
        elif isinstance(value, list | dict):
            out[key] = _inline(value)
        else:
            out[key] = str(value)
    return out
