"""wattline.env_settings against pydantic-settings itself: every settings model, random environments and constructor
values, the same validated model (dump and fields set) or the same failure."""

from __future__ import annotations

import enum
import importlib
import json
import os
import typing
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic._internal._utils import deep_update
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, InitSettingsSource
from pydantic_settings.exceptions import SettingsError

from wattline.env_settings import EnvSettings, EnvSettingsError, NoDecode
from wattline.realtime import RealtimeSettings
from wattline.settings import S3BucketSettings, Settings

SETTINGS_MODULES = [
    "wattline.alerts.settings",
    "wattline.local.serve_settings",
    "wattline.realtime",
    "wattline.stages",
    "aws_aggregator.settings",
    "aws_archiver.settings",
    "gcp_loader.settings",
]


def every_model() -> list[type[EnvSettings]]:
    for module in SETTINGS_MODULES:
        importlib.import_module(module)
    found: list[type[EnvSettings]] = []
    pending = [EnvSettings]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith(("wattline", "aws_", "gcp_")) and sub not in found:
                found.append(sub)
                pending.append(sub)
    return sorted(found, key=lambda model: f"{model.__module__}.{model.__qualname__}")


MODELS = every_model()
NAMES = {model.__name__ for model in MODELS}


def test_every_settings_model_is_compared() -> None:
    assert {"Settings", "S3BucketSettings", "WarehouseSettings", "AggregationSettings", "LoaderSettings"} <= NAMES
    assert {"ArchiveSettings", "ArchiverSettings", "AlertSettings", "RealtimeSettings", "ServeSettings"} <= NAMES
    assert "AggregatorSettings" in NAMES


# ---------------------------------------------------------------------------------------------------------------
# The reference: pydantic-settings' own sources, merged as BaseSettings merges them


class ReferenceEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, honouring wattline's NoDecode marker as its own."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        if field is not None and NoDecode in field.metadata:
            return value
        return super().decode_complex_value(field_name, field, value)


def reference(model: type[EnvSettings], init: dict[str, Any]) -> EnvSettings:
    """What `model(**init)` gives as a pydantic-settings BaseSettings (init, then env; no dotenv, no secrets)."""
    settings_cls: Any = model
    env = ReferenceEnvSource(
        settings_cls,
        case_sensitive=False,
        env_prefix=model.env_prefix,
        env_nested_delimiter=model.env_nested_delimiter,
    )()
    state = deep_update(env, InitSettingsSource(settings_cls, init_kwargs=init)())
    BaseSettings._settings_restore_init_kwarg_names(settings_cls, init, state, {})
    return model.model_validate(state)


def outcome(build: Callable[[], BaseModel]) -> tuple[Any, ...]:
    try:
        built = build()
    except ValidationError as exc:
        return "invalid", [(error["loc"], error["type"], error["msg"]) for error in exc.errors()]
    except (SettingsError, EnvSettingsError):
        return ("not JSON",)
    except Exception as exc:  # a validator's own bug (solar.parse_channel_roles on a number) is an outcome too
        return "error", type(exc).__name__, str(exc)
    return "valid", built.model_dump(), built.model_fields_set


# ---------------------------------------------------------------------------------------------------------------
# Random environments

TEXTS = [
    "", " ", "0", "1", "-1", "2.5", "1e3", "true", "false", "yes", "null", "abc", "x" * 70, "9" * 25,
    "grid", "solar", "solar+", "load", "dev:0=grid,dev:1=solar", "dev:0=moon", "Europe/Kyiv", "UTC", "Mars/Base",
    "duckdb", "bigquery", "fs", "gcs", "outbox", "pubsub", "objects", "warehouse", "GLACIER", "DEEP_ARCHIVE",
    "Bulk", "Standard", "auto", "counter", "critical", "warning", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00",
    "127.0.0.1:8085", "http://localhost:9", "my-bucket", "eu-west-1", "22:00-07:00", "25:00-07:00", "a@b.c, d@e.f",
]  # fmt: skip
JSON_TEXTS = [
    "", "1", "null", "{}", "[]", "[1, 2]", '"text"', '{"gap_s": 5}', '{"GAP_S": "7", "spike_k": 2, "nope": 1}',
    '{"gap_s": -1}', '{"Gap_S": 1, "gap_s": 2}', '{"dev:0": "grid"}', '{"Dev:1": "solar", "dev:2": "load"}',
    '{"dev:0": "moon"}', "{not json", '{"a": {"b": 1}}', "dev:0=grid,dev:1=solar", "dev:0=grid,",
]  # fmt: skip
VALID_BASE = {"WATTLINE_GCP_PROJECT": "p", "WATTLINE_BUCKET": "my-bucket", "AWS_REGION": "eu-west-1"}
INIT_VALUES = [None, "", "1", 2, 2.5, True, "pubsub", "outbox", "duckdb", "b-ucket", "dev:0=solar"]
INIT_DICTS = [{}, {"gap_s": 9}, {"SPIKE_K": "2"}, {"d:0": "solar"}, {"dev:0": {"x": 1}}, {"gap_s": "x"}]


def choices_of(annotation: Any) -> list[str]:
    """Texts a field's own type takes (Literal values, enum values, sub-model fields), so valid values come up."""
    out: list[str] = []
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is typing.Literal:
            out += [str(value) for value in typing.get_args(arg)]
        elif isinstance(arg, type) and issubclass(arg, enum.Enum):
            out += [str(member.value) for member in arg]
        elif isinstance(arg, type) and issubclass(arg, BaseModel):
            out += list(arg.model_fields)
    return out


def is_complex(field: FieldInfo) -> bool:
    origin = typing.get_origin(field.annotation) or field.annotation
    return isinstance(origin, type) and issubclass(origin, dict | BaseModel)


def env_names(model: type[EnvSettings], name: str, field: FieldInfo) -> list[str]:
    """The variables that may hold a field: prefixed, alias names, and nested names (with near misses)."""
    names = [model.env_prefix + name]
    choices = getattr(field.validation_alias, "choices", [field.validation_alias])
    names += [choice for choice in choices if isinstance(choice, str)]
    delimiter = model.env_nested_delimiter or "__"
    for key in [*choices_of(field.annotation), "dev:0", "Dev:1", "x", f"{model.env_prefix}gap_s", ""]:
        names += [f"{model.env_prefix}{name}{delimiter}{key}", f"{model.env_prefix}{name}{delimiter}{key}__y"]
    return names


def any_case(name: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(name, upper, strict=True))
    )


@st.composite
def environments(draw: st.DrawFn, model: type[EnvSettings]) -> dict[str, str]:
    """Variables of the model's complex fields (JSON and nested) half the time, of any field or none otherwise."""
    texts = TEXTS + [text for field in model.model_fields.values() for text in choices_of(field.annotation)]
    complex_names = [n for name, f in model.model_fields.items() if is_complex(f) for n in env_names(model, name, f)]
    other_names = [n for name, f in model.model_fields.items() if not is_complex(f) for n in env_names(model, name, f)]
    other_names += [f"{model.env_prefix}NOPE", f"{model.env_prefix}ALERTS_X", "REGION", "AWS_REGION"]
    json_fields = [(name, field) for name, field in model.model_fields.items() if is_complex(field)]
    names = [st.tuples(st.sampled_from(other_names), st.sampled_from(texts))]
    if complex_names:
        names.append(st.tuples(st.sampled_from(complex_names), st.sampled_from(JSON_TEXTS + texts[:12])))
        names += [st.tuples(st.just(model.env_prefix + name), json_objects(field)) for name, field in json_fields]
    pairs = draw(st.lists(st.one_of(names), max_size=10))
    base = VALID_BASE if draw(st.booleans()) else {}  # required fields set: validation gets past them
    return {**base, **{draw(any_case(name)): text for name, text in pairs}}


def json_objects(field: FieldInfo) -> st.SearchStrategy[str]:
    """JSON text of a complex field: its keys in any case (and unknown ones), any values; or other JSON."""
    keys = st.sampled_from([*choices_of(field.annotation), "dev:0", "Dev:1", "x"]).flatmap(any_case)
    values = st.sampled_from(["1", 2, -1.5, "", None, "grid", "moon", {"b": 1}])
    objects = st.dictionaries(keys, values, max_size=4).map(json.dumps)
    return st.one_of(objects, st.sampled_from(JSON_TEXTS))


@st.composite
def constructor_values(draw: st.DrawFn, model: type[EnvSettings]) -> dict[str, Any]:
    complex_fields = [name for name, field in model.model_fields.items() if is_complex(field)]
    values: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        if complex_fields and draw(st.booleans()):
            values[draw(any_case(draw(st.sampled_from(complex_fields))))] = draw(st.sampled_from(INIT_DICTS))
        else:
            name = draw(st.sampled_from([*model.model_fields, "REGION", "AWS_REGION", "nope"]))
            values[draw(any_case(name))] = draw(st.sampled_from(INIT_VALUES))
    return values


@pytest.mark.parametrize("model", MODELS, ids=lambda model: f"{model.__module__}.{model.__name__}")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_loader_reads_every_model_as_pydantic_settings_does(model: type[EnvSettings], data: st.DataObject) -> None:
    env = data.draw(environments(model), label="env")
    init = data.draw(st.one_of(st.just({}), constructor_values(model)), label="init")
    with patch.dict(os.environ, env, clear=True):
        expected = outcome(lambda: reference(model, init))
        assert outcome(lambda: model(**init)) == expected


# ---------------------------------------------------------------------------------------------------------------
# Examples


@pytest.fixture
def clean_env() -> typing.Iterator[None]:
    kept = {name: value for name, value in os.environ.items() if not name.upper().startswith(("WATTLINE_", "AWS_"))}
    with patch.dict(os.environ, kept, clear=True):
        yield


def test_constructor_values_win_over_the_environment(clean_env: None) -> None:
    os.environ.update({"WATTLINE_TARIFF": "flat", "WATTLINE_TIMEZONE": "UTC"})
    settings = Settings(tariff="ua-2zone")
    assert (settings.tariff, settings.timezone) == ("ua-2zone", "UTC")
    assert settings.model_fields_set == {"tariff", "timezone"}


def test_alias_choices_are_read_in_their_order_without_the_prefix(clean_env: None) -> None:
    os.environ.update({"WATTLINE_BUCKET": "data", "AWS_REGION": "eu-west-1", "aws_default_region": "us-east-1"})
    assert S3BucketSettings().region == "eu-west-1"
    os.environ["WATTLINE_REGION"] = "eu-central-1"
    assert S3BucketSettings().region == "eu-central-1"
    assert S3BucketSettings(region="ap-south-1").region == "ap-south-1"


def test_nested_variables_are_merged_over_the_json_one(clean_env: None) -> None:
    os.environ.update({"WATTLINE_ALERTS": '{"GAP_S": 100, "spike_k": 3}', "wattline_alerts__gap_s": "900"})
    thresholds = RealtimeSettings().alerts
    assert (thresholds.gap_s, thresholds.spike_k) == (900.0, 3.0)
    assert RealtimeSettings(alerts={"spike_k": 7}).alerts.gap_s == 900.0  # constructor dicts merge too


def test_no_decode_channels_take_the_short_form(clean_env: None) -> None:
    os.environ["WATTLINE_CHANNELS"] = "dev:0=grid,dev:1=solar"
    assert Settings().channels == {"dev:0": "grid", "dev:1": "solar"}


def test_a_variable_that_is_not_json_is_named(clean_env: None) -> None:
    os.environ.update({"Wattline_Alerts": "{gap_s: 5"})  # named as it was set
    with pytest.raises(EnvSettingsError, match="Wattline_Alerts is not valid JSON"):
        RealtimeSettings()


def test_model_validate_reads_the_environment_under_its_values_as_base_settings_does(clean_env: None) -> None:
    # pydantic validates a model with its own __init__ through that __init__: BaseSettings' and EnvSettings' alike.
    os.environ.update({"WATTLINE_TARIFF": "flat", "WATTLINE_HOME": "/srv"})
    validated = Settings.model_validate({"home": "/data"})
    assert (validated.tariff, str(validated.home)) == ("flat", "/data")
    assert validated.model_fields_set == {"home", "tariff"}
    assert outcome(lambda: validated) == outcome(lambda: reference(Settings, {"home": "/data"}))
