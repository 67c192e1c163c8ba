"""The training config (training/config.toml): typed, frozen, and strict about its keys.

Why strict: a misspelt hyper-parameter that is silently ignored trains a different model than the one
the config claims to describe; an unknown key fails with E_CONFIG_KEY instead.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

from nianbao.errors import CodedError, ErrorCode

DEFAULT_CONFIG = Path(str(resources.files("nianbao.training").joinpath("config.toml")))


class ConfigError(CodedError, ValueError):
    """A config the trainer refuses, with its stable code (an ``E_CONFIG_...`` of the registry)."""


@dataclass(frozen=True)
class Training:
    seed: int


@dataclass(frozen=True)
class Corpus:
    per_concept: int
    none_per_wording: int
    synthesized_reports: int
    data: tuple[str, ...]
    data_weight: int


@dataclass(frozen=True)
class FieldMapperParams:
    char_ngram_range: tuple[int, ...]
    word_weight: float
    sublinear_tf: bool
    C: float
    max_iter: int


@dataclass(frozen=True)
class DecoderFit:
    seed: int
    n: int
    forms: tuple[str, ...]
    min_gain: float
    order_gain: tuple[float, ...]
    order_label_weight: tuple[float, ...]
    order_width_weight: tuple[float, ...]


@dataclass(frozen=True)
class Heldout:
    seed: int
    n: int
    forms: tuple[str, ...]


@dataclass(frozen=True)
class LearningCurve:
    fractions: tuple[float, ...]


@dataclass(frozen=True)
class Sections:
    spacy_config: str
    patterns: str
    headings: str
    train_reports: int
    dev_reports: int
    copies: int
    ocr_rate: float
    renumber_rate: float
    max_epochs: int
    dropout: float


@dataclass(frozen=True)
class Mlflow:
    tracking_uri: str
    experiment: str
    register: tuple[str, ...]
    alias: str


@dataclass(frozen=True)
class Adaptation:
    seed: int
    ks: tuple[int, ...]
    test_documents: int


@dataclass(frozen=True)
class TrainConfig:
    training: Training
    corpus: Corpus
    field_mapper: FieldMapperParams
    decoder: DecoderFit
    heldout: Heldout
    learning_curve: LearningCurve
    sections: Sections
    mlflow: Mlflow
    adaptation: Adaptation
    base_dir: Path = Path(".")  # where the config file lives: relative paths start here

    def path(self, relative: str) -> Path:
        return (self.base_dir / relative).resolve()

    def flat(self) -> dict[str, str]:
        """Every setting as ``section.key`` → text, for experiment tracking."""
        out = {}
        for part in fields(self):
            if part.name == "base_dir":
                continue
            for key, value in dataclasses.asdict(getattr(self, part.name)).items():
                out[f"{part.name}.{key}"] = (
                    ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
                )
        return out

    def replace(self, section: str, **changes: Any) -> TrainConfig:
        """A copy with some keys of one section changed (smaller configs in tests and experiments)."""
        return dataclasses.replace(
            self,
            **{
                section: _build(
                    type(getattr(self, section)),
                    section,
                    {**dataclasses.asdict(getattr(self, section)), **changes},
                )
            },
        )


def _coerce(kind: Any, value: Any, where: str) -> Any:
    origin = getattr(kind, "__origin__", None)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(ErrorCode.E_CONFIG_TYPE, f"{where} must be a list, not {value!r}")
        item = kind.__args__[0]
        return tuple(_coerce(item, v, where) for v in value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool) and (type(value) is not kind):
        raise ConfigError(ErrorCode.E_CONFIG_TYPE, f"{where} must be {kind.__name__}, not {value!r}")
    return value


def _build(cls: type, name: str, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(ErrorCode.E_CONFIG_TYPE, f"[{name}] must be a table")
    hints = get_type_hints(cls)
    _check_keys(set(raw), {f.name for f in fields(cls)}, f"unknown key(s) in [{name}]:", f"[{name}] lacks")
    return cls(**{k: _coerce(hints[k], v, f"{name}.{k}") for k, v in raw.items()})


def _check_keys(given: set[str], known: set[str], unknown: str, missing: str) -> None:
    """Refuse a key the config does not know (E_CONFIG_KEY), then a known one it lacks (E_CONFIG_MISSING);
    ``unknown`` and ``missing`` say where, before the sorted names."""
    if extra := sorted(given - known):
        raise ConfigError(ErrorCode.E_CONFIG_KEY, f"{unknown} {', '.join(extra)}")
    if lacking := sorted(known - given):
        raise ConfigError(ErrorCode.E_CONFIG_MISSING, f"{missing} {', '.join(lacking)}")


def parse_config(raw: dict, base_dir: Path = Path(".")) -> TrainConfig:
    hints = get_type_hints(TrainConfig)
    sections = {f.name for f in fields(TrainConfig)} - {"base_dir"}
    _check_keys(set(raw), sections, "unknown section(s):", "section(s)")
    built = {name: _build(hints[name], name, raw[name]) for name in sections}
    return TrainConfig(**built, base_dir=base_dir)


def load_config(path: Path | str | None = None) -> TrainConfig:
    path = Path(path or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(ErrorCode.E_CONFIG_MISSING, f"no config at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(ErrorCode.E_CONFIG_SYNTAX, f"{path}: {exc}") from exc
    return parse_config(raw, path.resolve().parent)
