"""The budgets file (`budgets.yml`), parsed and validated into `Budget` objects.

The file is found at `BIMO_BUDGETS`, else `budgets.yml` beside the warehouse. A missing default
file means "no budgets"; a missing file that `BIMO_BUDGETS` names is an error. Every validation
error names the file, the budget and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bimo.settings import Settings, get_settings

SOURCE_TAGS = ("dev", "prod", "billing")
# The dimensions of marts.fct_daily_cost that a scope may filter on.
SCOPE_COLUMNS = (
    "source_tag",
    "service_category",
    "provider",
    "service",
    "model",
    "project",
    "team",
    "environment",
    "feature",
    "api_key_id",
    "charge_category",
)
COST_COLUMNS = {"billed": "cost_usd", "effective": "effective_cost_usd", "list": "list_cost_usd"}
FIXED_PERIODS = ("monthly", "weekly", "quarterly")
ROLLING = re.compile(r"^rolling_(\d+)_days$")
SEVERITIES = ("low", "medium", "high")
BUDGET_KEYS = {"name", "scope", "period", "amount", "currency", "thresholds", "cost"}


class ConfigError(ValueError):
    """A budgets or alert-channels file that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Budget:
    """One budget: a spend limit in USD over a scope of `marts.fct_daily_cost` and a period."""

    name: str
    scope: dict[str, tuple[str | None, ...]]  # column -> accepted values (None matches NULL)
    period: str
    amount: float
    currency: str = "USD"
    thresholds: tuple[float, ...] = (80.0, 90.0, 100.0)
    cost: str = "billed"

    @property
    def source_tag(self) -> str:
        return self.scope["source_tag"][0]  # type: ignore[return-value]

    @property
    def rolling_days(self) -> int | None:
        match = ROLLING.match(self.period)
        return int(match.group(1)) if match else None

    @property
    def cost_column(self) -> str:
        return COST_COLUMNS[self.cost]


@dataclass(frozen=True)
class RuleSettings:
    """Tunables of the alert rules (the `alert_rules:` section of the budgets file)."""

    lookback_days: int = 7  # spikes and anomalies older than this (before as-of) never alert
    spike_factor: float = 2.0
    spike_window_days: int = 7
    spike_min_spend_usd: float = 10.0
    anomaly_min_severity: str = "low"


@dataclass(frozen=True)
class BudgetsConfig:
    budgets: tuple[Budget, ...] = ()
    rules: RuleSettings = field(default_factory=RuleSettings)
    path: Path | None = None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors become a `ConfigError` naming the file and line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None


def config_path(env_var: str, filename: str, settings: Settings | None) -> tuple[Path, bool]:
    """(path, explicit): the file an environment variable names, else `filename` beside the
    warehouse."""
    named = os.environ.get(env_var)
    if named:
        return Path(named).expanduser().resolve(), True
    return (settings or get_settings()).warehouse.parent / filename, False


def load_budgets(path: Path | None = None, *, settings: Settings | None = None) -> BudgetsConfig:
    """Read and validate the budgets file (see the module docstring for where it is found)."""
    explicit = path is not None
    if path is None:
        path, explicit = config_path("BIMO_BUDGETS", "budgets.yml", settings)
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: budgets file not found")
        return BudgetsConfig(path=None)
    return parse_budgets(read_yaml(path), source=str(path))


def parse_budgets(doc: Any, *, source: str = "budgets.yml") -> BudgetsConfig:
    """Validate a parsed budgets document: `{budgets: [...], alert_rules: {...}}`."""
    if doc is None:
        return BudgetsConfig(path=Path(source))
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'budgets' list")
    unknown = set(doc) - {"budgets", "alert_rules"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown)}")
    items = doc.get("budgets") or []
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'budgets' must be a list")
    budgets, seen = [], set()
    for i, item in enumerate(items, start=1):
        budget = _budget(item, f"{source}: budget #{i}")
        if budget.name in seen:
            raise ConfigError(f"{source}: budget '{budget.name}': field 'name': duplicate name")
        seen.add(budget.name)
        budgets.append(budget)
    rules = _rules(doc.get("alert_rules") or {}, f"{source}: alert_rules")
    return BudgetsConfig(budgets=tuple(budgets), rules=rules, path=Path(source))


def _budget(item: Any, where: str) -> Budget:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping (name, scope, period, amount, ...)")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or "|" in name or "\n" in name:
        raise ConfigError(f"{where}: field 'name': required, a non-empty string without '|'")
    where = f"{where.rsplit(': ', 1)[0]}: budget '{name}'"

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}: field '{key}': {message}")

    unknown = set(item) - BUDGET_KEYS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (allowed: {', '.join(sorted(BUDGET_KEYS))})")
    for key in ("scope", "period", "amount"):
        if item.get(key) is None:
            raise fail(key, "required")
    scope = _scope(item["scope"], fail)
    period = item["period"]
    rolling = ROLLING.match(period) if isinstance(period, str) else None
    if period not in FIXED_PERIODS and not (rolling and 1 <= int(rolling.group(1)) <= 366):
        raise fail(
            "period", f"must be monthly, weekly, quarterly or rolling_N_days, got {period!r}"
        )
    amount = item["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not amount > 0:
        raise fail("amount", f"must be a positive number, got {amount!r}")
    currency = item.get("currency", "USD")
    if not isinstance(currency, str) or currency.upper() != "USD":
        raise fail(
            "currency",
            f"{currency!r} is not supported: budgets are in USD (every cost row is converted to "
            "USD in the marts; rows are never summed across currencies). Convert the amount "
            "and set currency: USD",
        )
    thresholds = item.get("thresholds", [80, 90, 100])
    if (
        not isinstance(thresholds, list)
        or not thresholds
        or any(isinstance(t, bool) or not isinstance(t, int | float) or t <= 0 for t in thresholds)
    ):
        raise fail("thresholds", f"must be a list of positive percentages, got {thresholds!r}")
    cost = item.get("cost", "billed")
    if cost not in COST_COLUMNS:
        raise fail("cost", f"must be one of {', '.join(COST_COLUMNS)}, got {cost!r}")
    return Budget(
        name=name,
        scope=scope,
        period=period,
        amount=float(amount),
        currency="USD",
        thresholds=tuple(sorted({float(t) for t in thresholds})),
        cost=cost,
    )


def _scope(scope: Any, fail) -> dict[str, tuple[str | None, ...]]:
    if not isinstance(scope, dict) or not scope:
        raise fail("scope", "must be a mapping of dimension: value(s), with a source_tag")
    out: dict[str, tuple[str | None, ...]] = {}
    for column, value in scope.items():
        if column not in SCOPE_COLUMNS:
            raise fail(
                f"scope.{column}", f"unknown dimension (allowed: {', '.join(SCOPE_COLUMNS)})"
            )
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, bool | dict | list) for v in values):
            raise fail(f"scope.{column}", f"must be a value or a non-empty list, got {value!r}")
        out[column] = tuple(None if v is None else str(v) for v in values)
    tag = out.get("source_tag")
    if tag is None or len(tag) != 1 or tag[0] not in SOURCE_TAGS:
        raise fail(
            "scope.source_tag",
            f"required, exactly one of {', '.join(SOURCE_TAGS)} (Bimo never sums across "
            f"source tags), got {scope.get('source_tag')!r}",
        )
    return out


def _rules(doc: Any, where: str) -> RuleSettings:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping")
    spike, anomaly = doc.get("spike") or {}, doc.get("anomaly") or {}
    unknown = (
        {f"{k}" for k in set(doc) - {"lookback_days", "spike", "anomaly"}}
        | {f"spike.{k}" for k in set(spike) - {"factor", "window_days", "min_spend_usd"}}
        | {f"anomaly.{k}" for k in set(anomaly) - {"min_severity"}}
    )
    if unknown:
        raise ConfigError(f"{where}: unknown fields {sorted(unknown)}")
    defaults = RuleSettings()
    rules = RuleSettings(
        lookback_days=doc.get("lookback_days", defaults.lookback_days),
        spike_factor=spike.get("factor", defaults.spike_factor),
        spike_window_days=spike.get("window_days", defaults.spike_window_days),
        spike_min_spend_usd=spike.get("min_spend_usd", defaults.spike_min_spend_usd),
        anomaly_min_severity=anomaly.get("min_severity", defaults.anomaly_min_severity),
    )
    for attr, name in (
        ("lookback_days", "lookback_days"),
        ("spike_window_days", "spike.window_days"),
    ):
        value = getattr(rules, attr)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: field '{name}': must be a whole number >= 1")
    for attr, name in (
        ("spike_factor", "spike.factor"),
        ("spike_min_spend_usd", "spike.min_spend_usd"),
    ):
        value = getattr(rules, attr)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: field '{name}': must be a number >= 0")
    if rules.anomaly_min_severity not in SEVERITIES:
        raise ConfigError(
            f"{where}: field 'anomaly.min_severity': must be one of {', '.join(SEVERITIES)}"
        )
    return rules
