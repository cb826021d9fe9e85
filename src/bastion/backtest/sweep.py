"""Parameter sweeps: one bot config, the cartesian product of some of its fields, one backtest each.

``--param NAME=v1,v2,...`` names a field of the bot's config (a TOML key; ``table.key`` for a
field of an inline table such as ``start_condition.threshold``) and the values to try, each read
as a TOML value (``1.5``, ``6``, ``"market"``, ``true``; a bare word is a string). Every name and
every value is checked against the bot's own config validation before anything runs.

Runs are independent and deterministic: a serial sweep and one fanned out on Ray (``workers >
1``; a local Ray by default, a cluster when an address is given) give the same rows. Ray is
imported only then.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bastion.errors import ConfigError

__all__ = [
    "SORT_KEYS",
    "Param",
    "SweepData",
    "combinations",
    "dump_toml",
    "parse_param",
    "run_sweep",
    "sort_rows",
]

#: Row fields a sweep can be sorted by (best first: highest, except the drawdown: lowest).
SORT_KEYS = ("profit_pct", "profit_quote", "closed_deals", "max_drawdown_pct", "fees_quote", "max_capital_used")
_FIGURES = (
    "closed_deals",
    "open_deals",
    "profit_quote",
    "open_profit_quote",
    "profit_pct",
    "max_drawdown_pct",
    "max_capital_used",
    "fees_quote",
    "bot_status",
)
_MAX_COMBINATIONS = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One ``--param``: a config field and the values to try (as TOML values and as written)."""

    name: str
    values: tuple[Any, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepData:
    """What every run reads: the ``--data`` options, the cut, the fee and the balances (plain values)."""

    data: tuple[str, ...]
    start_ms: int | None = None
    end_ms: int | None = None
    fee: Decimal = Decimal("0.001")
    balances: tuple[tuple[str, Decimal], ...] = ()


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_param(option: str) -> Param:
    """Read ``NAME=v1,v2,...`` (values split on commas outside brackets, quotes and braces)."""
    name, sep, rest = option.partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise ConfigError(f"--param must look like NAME=v1,v2,... such as take_profit_pct=1,1.5,2; got {option!r}")
    texts: list[str] = []
    depth = 0
    quote = ""
    current = ""
    for char in rest:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            texts.append(current.strip())
            current = ""
            continue
        current += char
    texts.append(current.strip())
    if any(not t for t in texts):
        raise ConfigError(f"--param {name}: an empty value in {rest!r}; expected values separated by commas")
    if len(set(texts)) != len(texts):
        raise ConfigError(f"--param {name}: a value is given twice in {rest!r}; expected distinct values")
    return Param(name=name, values=tuple(_value(t) for t in texts), texts=tuple(texts))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def dump_toml(data: Mapping[str, Any]) -> str:
    """Write a bot config mapping as TOML (top-level keys; tables and arrays inline)."""
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _set(data: dict[str, Any], name: str, value: Any) -> None:
    *tables, last = name.split(".")
    node = data
    for i, part in enumerate(tables):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            where = ".".join(tables[: i + 1])
            raise ConfigError(f"--param {name}: {where} is {child!r} in the config, not a table")
        else:
            child = node[part] = dict(child)
        node = child
    node[last] = value


def _check_name(kind: str, name: str) -> None:
    from bastion.bots.registry import config_class

    top = name.split(".")[0]
    fields = [f.name for f in dataclasses.fields(config_class(kind))]
    if top not in fields:
        raise ConfigError(
            f"--param {name}: {top!r} is not a field of a {kind} bot; expected one of {', '.join(fields)}"
        )
    if top in ("type", "name"):
        raise ConfigError(f"--param {name}: the bot's {top} cannot be swept; expected a trading field")


def combinations(config_toml: str, params: Sequence[Param]) -> list[tuple[dict[str, str], str]]:
    """Every combination as (its parameter values as written, the config TOML), checked first.

    Raises
    ------
    ConfigError
        A name that is not a field of the bot's config, a parameter given twice, or a value the
        bot's config refuses (the message names the field, the value and what is expected).
    """
    from bastion.bots.registry import load_config

    load_config(config_toml)  # the base config itself must be valid
    base = tomllib.loads(config_toml)
    kind = str(base["type"])
    if not params:
        raise ConfigError("a sweep needs at least one --param NAME=v1,v2,...")
    names = [p.name for p in params]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"--param {twice[0]} is given twice; expected each field once (list its values together)")
    count = math.prod(len(p.values) for p in params)
    if count > _MAX_COMBINATIONS:
        raise ConfigError(f"the sweep has {count} combinations; expected at most {_MAX_COMBINATIONS}")
    for param in params:
        _check_name(kind, param.name)
        for value, text in zip(param.values, param.texts, strict=True):
            data = dict(base)
            _set(data, param.name, value)
            try:
                load_config(dump_toml(data))
            except ConfigError as exc:
                raise ConfigError(f"--param {param.name}={text} is refused: {exc}") from None
    out = []
    for chosen in itertools.product(*(zip(p.values, p.texts, strict=True) for p in params)):
        data = dict(base)
        for param, (value, _) in zip(params, chosen, strict=True):
            _set(data, param.name, value)
        text = dump_toml(data)
        try:
            load_config(text)
        except ConfigError as exc:  # values valid alone, not together (a bound between two fields)
            shown = ", ".join(f"{p.name}={t}" for p, (_, t) in zip(params, chosen, strict=True))
            raise ConfigError(f"the combination {shown} is refused: {exc}") from None
        out.append(({p.name: t for p, (_, t) in zip(params, chosen, strict=True)}, text))
    return out


_MARKETS: dict[SweepData, Any] = {}


def _markets(spec: SweepData) -> Any:
    from bastion.backtest.data import load_market

    markets = _MARKETS.get(spec)
    if markets is None:
        _MARKETS.clear()
        markets = [load_market(o, start_ms=spec.start_ms, end_ms=spec.end_ms) for o in spec.data]
        _MARKETS[spec] = markets
    return markets


def run_chunk(
    spec: SweepData, items: Sequence[tuple[int, dict[str, str], str]], markets: Sequence[Any] | None = None
) -> list[dict[str, Any]]:
    """Backtest each (index, params, config TOML); return one row each (the figures as strings).

    ``markets`` are the loaded ``--data`` markets (Ray hands every task the same copy, read from
    its object store); None: load them here from ``spec`` (once per process).
    """
    from bastion.backtest.report import summary
    from bastion.backtest.runner import Backtest

    if markets is None:
        markets = _markets(spec)
    balances = dict(spec.balances)
    rows = []
    for index, params, text in items:
        run = Backtest(text, markets, fee=spec.fee, balances=balances).run()
        figures = summary(run)
        rows.append({"index": index, **params, **{k: figures[k] for k in _FIGURES}})
    return rows


#: Tasks per worker: few (each task pays Ray's scheduling and a result transfer), but more than
#: one so that a worker that drew the slow parameter sets does not hold up the end alone.
_TASKS_PER_WORKER = 4


def _chunks(items: list[Any], parts: int) -> list[list[Any]]:
    """``parts`` chunks dealt round-robin: neighbouring combinations (alike in cost) spread over the chunks."""
    return [chunk for chunk in (items[i::parts] for i in range(parts)) if chunk]


def _on_ray(
    spec: SweepData, items: list[tuple[int, dict[str, str], str]], workers: int, address: str | None
) -> list[dict[str, Any]]:
    import ray

    if address is None:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        task = ray.remote(num_cpus=1)(run_chunk)
        # The candle columns go into Ray's object store once; every task maps the same numpy
        # arrays (no file read on the workers, which on a cluster need not have the file).
        markets = ray.put(list(_markets(spec)))
        refs = [task.remote(spec, chunk, markets) for chunk in _chunks(items, workers * _TASKS_PER_WORKER)]
        rows: list[dict[str, Any]] = []
        for part in ray.get(refs):
            rows.extend(part)
        return rows
    finally:
        ray.shutdown()


def run_sweep(
    spec: SweepData,
    config_toml: str,
    params: Sequence[Param],
    *,
    workers: int = 1,
    ray_address: str | None = None,
) -> list[dict[str, Any]]:
    """Run every combination; rows in combination order (serial with one worker, else on Ray)."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    items = [(i, p, t) for i, (p, t) in enumerate(combinations(config_toml, params))]
    _markets(spec)  # a bad --data fails here, once, before any worker starts
    if workers == 1 and ray_address is None:
        rows = run_chunk(spec, items)
    else:
        rows = _on_ray(spec, items, workers, ray_address)
    return sorted(rows, key=lambda r: int(r["index"]))


def sort_rows(rows: Sequence[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    """Best first by ``key`` (the lowest drawdown first); ties keep the combination order."""
    if key not in SORT_KEYS:
        raise ConfigError(f"--sort must be one of {', '.join(SORT_KEYS)}; got {key!r}")
    sign = 1 if key == "max_drawdown_pct" else -1
    return sorted(rows, key=lambda r: (sign * Decimal(str(r[key])), int(r["index"])))
