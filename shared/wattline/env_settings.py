"""Settings models read from the environment: the part of pydantic-settings' `BaseSettings` wattline uses.

pydantic-settings cost every process start ~0.05 CPU-s of imports (asyncio, dotenv, ssl …) for one thing:
reading os.environ into a model. `EnvSettings` does that with its default rules, unchanged, so every WATTLINE_*
variable means what it meant (tests/unit/runtime/test_env_settings.py compares both on random environments):

- `<prefix><field>` or, for a field with a validation alias, each alias name without the prefix (first found
  wins, in choice order; the prefixed field name too when the model populates by name); names case-insensitive;
- complex fields (models, dicts, lists, sets, tuples and unions holding them) are JSON text, unless annotated
  `NoDecode`; with a nested delimiter, `<name>__<key>` values are merged into the field's dict (over its JSON);
- values passed to the constructor win over the environment (dicts deep-merged); empty strings are values;
- `Model.model_validate(values)` reads it too, under `values`: pydantic validates a model that has its own
  `__init__` through it (BaseSettings has one as well), so `runtime.stage_settings` and the CLI's overrides work
  as before.

No dotenv, secrets directory or CLI source, nor pydantic-settings' rules for types no setting has (alias paths,
RootModel, Json, type aliases, unions as a dict's values): the comparison test is there to catch one.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, is_dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, cast, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ConfigDict
from pydantic.fields import FieldInfo


class NoDecode:
    """`Annotated[..., NoDecode]`: the field's variable is passed to validation as text, never JSON-decoded."""


class EnvSettingsError(ValueError):
    """A variable of a complex field is not the JSON the field needs (named, since validation never sees it)."""


class EnvSettings(BaseModel):
    """A model whose constructor fills the fields not passed to it from the environment (see the module docstring).

    Config as pydantic-settings' `BaseSettings` has it; subclasses set `env_prefix` / `env_nested_delimiter`."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=True)

    env_prefix: ClassVar[str] = ""
    env_nested_delimiter: ClassVar[str | None] = None

    def __init__(self, /, **values: Any) -> None:
        super().__init__(**_Reader.of(type(self)).values(values))


_Source = FieldInfo | Any  # a field, or a raw type (a dict's value type) while walking a nested name


@dataclass(frozen=True)
class _Reader:
    model: type[EnvSettings]
    environ: dict[str, str]  # lower-cased names, as pydantic-settings matches them
    spelled: dict[str, str]  # lower-cased name -> the name as set, for error messages

    @classmethod
    def of(cls, model: type[EnvSettings]) -> _Reader:
        environ = os.environ.copy()
        return cls(model, {name.lower(): value for name, value in environ.items()}, {n.lower(): n for n in environ})

    def values(self, init: dict[str, Any]) -> dict[str, Any]:
        """The model's input: the environment's values, under the constructor's (dicts deep-merged)."""
        given, rest = _init_values(self.model, init)
        values: dict[str, Any] = {}
        for name, field in self.model.model_fields.items():
            key, value = self.field_value(name, field)
            value = _canonical_keys(field, value) if isinstance(value, dict) else value
            if name in given:
                key, init_value = given[name]
                both = isinstance(value, dict) and isinstance(init_value, dict)
                value = _deep_update(value, init_value) if both else init_value
                values[key] = value
            elif value is not None:
                values[key] = value
        return {**values, **rest}

    def field_value(self, name: str, field: FieldInfo) -> tuple[str, Any]:
        """(the input key, the value or None), the key as pydantic-settings gives it (errors name it)."""
        entries = _env_entries(self.model.env_prefix, name, field, self.model.model_config)
        env_names = [env_name for _, env_name in entries]
        key, found = next(((key, env_name) for key, env_name in entries if env_name in self.environ), entries[-1])
        is_complex, may_fail = _complexity(field)
        by_name = key == name and (may_fail or _by_name(self.model.model_config))
        key = key if by_name else _alias_names(name, field)[0]
        if found not in self.environ:
            return key, (self.explode(field, env_names) or None) if is_complex else None
        if not is_complex:
            return key, self.environ[found]
        value = self.decode(found, field, may_fail)
        return key, _deep_update(value, self.explode(field, env_names)) if isinstance(value, dict) else value

    def decode(self, env_name: str, field: FieldInfo | None, may_fail: bool) -> Any:
        """JSON text to values, unless the field is `NoDecode` (or text may stay text when it is not JSON)."""
        text = self.environ[env_name]
        if field is not None and NoDecode in field.metadata:
            return text
        try:
            return json.loads(text)
        except ValueError as exc:
            if may_fail:
                return text
            raise EnvSettingsError(f"{self.spelled[env_name]} is not valid JSON ({exc})") from exc

    def explode(self, field: FieldInfo, env_names: list[str]) -> dict[str, Any]:
        """The `<name><delimiter><key>…` variables of a complex field as nested dicts (pydantic-settings' rules)."""
        delimiter = self.model.env_nested_delimiter
        if not delimiter:
            return {}
        is_dict = field.annotation is dict or _is_subclass(get_origin(field.annotation), dict)
        prefixes = [env_name + delimiter for env_name in env_names]
        result: dict[str, Any] = {}
        for env_name, value in self.environ.items():
            prefix = next((prefix for prefix in prefixes if env_name.startswith(prefix)), None)
            if prefix is None:
                continue
            *keys, last = env_name[len(prefix) :].split(delimiter)
            target: _Source = field
            node: Any = result
            for key in keys:
                target = _next_field(self.model.env_prefix, target, key)
                node = node.setdefault(key, {}) if isinstance(node, dict) else node
            target = _next_field(self.model.env_prefix, target, last)
            if (target or is_dict) and value:
                if isinstance(target, FieldInfo):
                    (is_complex, may_fail), sub = _complexity(target), target
                else:  # a dict's value type, or a key below a dict
                    (is_complex, may_fail), sub = (_is_complex(target) if target else True, True), None
                value = self.decode(env_name, sub, may_fail) if is_complex else value
            if isinstance(node, dict):
                node[last] = value
        return result


def _env_entries(prefix: str, name: str, field: FieldInfo, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(input key, variable lower-cased) a field is read from, in order: its aliases, then the prefixed name."""
    aliases = _alias_names(name, field) if field.validation_alias is not None else []
    by_name = [(name, (prefix + name).lower())] if not aliases or _by_name(config) else []
    return [(alias, alias.lower()) for alias in aliases] + by_name


def _alias_names(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias if field.validation_alias is not None else field.alias
    if alias is None:
        return [name]
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices) and all(isinstance(choice, str) for choice in alias.choices):
        return [str(choice) for choice in alias.choices]
    raise TypeError(f"field {name}: alias paths are not read from the environment")


def _by_name(config: Mapping[str, Any]) -> bool:
    return bool(config.get("validate_by_name", config.get("populate_by_name", False)))


def _next_field(prefix: str, source: _Source, key: str) -> _Source:
    """What `key` names below `source`: a dict's value type, or the sub-model field (by name or env name)."""
    if not source:
        return None
    annotation = source.annotation if isinstance(source, FieldInfo) else source
    if _is_subclass(get_origin(annotation), dict):
        args = get_args(annotation)
        return args[-1] if args else None
    for arg in get_args(annotation):
        if found := _next_field(prefix, arg, key):
            return found
    if _is_subclass(annotation, BaseModel) and annotation is not BaseModel:
        model = cast(type[BaseModel], annotation)
        for name, field in model.model_fields.items():
            env_names = [env_name for _, env_name in _env_entries(prefix, name, field, model.model_config)]
            if key.lower() in (name.lower(), *env_names):
                return field
    return None


def _canonical_keys(field: FieldInfo, values: dict[str, Any]) -> dict[str, Any]:
    """A model field's dict with its keys spelled as the model's field names (env names are case-insensitive)."""
    model = _model_of(field.annotation)
    if model is None:
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        names = ((alias, sub) for name, sub in model.model_fields.items() for alias in _alias_names(name, sub))
        alias, sub = next(((alias, sub) for alias, sub in names if alias.lower() == key.lower()), (key, None))
        nested = sub is not None and _model_of(sub.annotation) is not None and isinstance(value, dict)
        out[alias] = _canonical_keys(sub, value) if sub is not None and nested else value
    return out


def _init_values(model: type[EnvSettings], init: dict[str, Any]) -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
    """Constructor values by field, matched case-insensitively ({field: (input key, value)}), and the others.

    The key is the name given when pydantic takes it as it is, else the field's first alias (or its name)."""
    rest = dict(init)
    given: dict[str, tuple[str, Any]] = {}
    for name, field in model.model_fields.items():
        names = _alias_names(name, field) + ([name] if _by_name(model.model_config) else [])
        matched = [key for wanted in names for key in rest if key.lower() == wanted.lower()]
        if matched:
            given[name] = next((key for key in matched if key in names), names[0]), rest[matched[0]]
            for key in matched:
                rest.pop(key, None)
    return given, rest


def _complexity(field: FieldInfo) -> tuple[bool, bool]:
    """(whether the field's variable is JSON, whether text that is not JSON then stays text: unions)."""
    if _is_complex(field.annotation):
        return True, False
    union = _is_union_origin(get_origin(field.annotation))
    return (True, True) if union and any(_is_complex(arg) for arg in get_args(field.annotation)) else (False, False)


def _is_complex(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_complex(get_args(annotation)[0])
    hooks = ("__pydantic_core_schema__", "__get_pydantic_core_schema__")
    return _is_container(annotation) or _is_container(origin) or any(hasattr(origin, hook) for hook in hooks)


def _is_container(annotation: Any) -> bool:
    kinds = (BaseModel, Mapping, Sequence, AbstractSet, tuple, set, frozenset, deque)
    return not _is_subclass(annotation, (str, bytes)) and (_is_subclass(annotation, kinds) or is_dataclass(annotation))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model of a `Model`, `Model | None` or `Annotated[Model, ...]` annotation."""
    args = get_args(annotation)
    if _is_union_origin(get_origin(annotation)) and len(args) == 2 and type(None) in args:
        annotation = next(arg for arg in args if arg is not type(None))
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation if _is_subclass(annotation, BaseModel) else None


def _is_union_origin(origin: Any) -> bool:
    return origin is Union or origin is UnionType


def _is_subclass(value: Any, kinds: type | tuple[type, ...]) -> bool:
    return isinstance(value, type) and issubclass(value, kinds)


def _deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update` over `base`, dicts in both merged (pydantic's deep_update)."""
    out = dict(base)
    for key, value in update.items():
        both = isinstance(out.get(key), dict) and isinstance(value, dict)
        out[key] = _deep_update(out[key], value) if both else value
    return out
