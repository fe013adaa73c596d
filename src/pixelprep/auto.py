"""``AutoImageProcessor``: pick the family from a config's processor type, legacy names or model type."""

from __future__ import annotations

import os
import warnings
from typing import Any

from .config import HUB_KWARGS, LoadedConfig, load_config
from .errors import ConfigError, InvalidArgumentError, RemoteCodeError

# lower-cased name or model_type -> {backend name or None: processor class}
_BY_NAME: dict[str, dict[str | None, type]] = {}
_BY_MODEL_TYPE: dict[str, dict[str | None, type]] = {}


def _class_key(name: str) -> str:
    """Lower-cased class name without the ``Fast``/``Pil`` backend suffixes; feature extractors map to processors."""
    key = name.strip().lower()  # lower first, so "...FAST" or "GroundingDINO..." spellings match too
    for suffix in ("fast", "pil"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    if key.endswith("featureextractor"):
        key = key[: -len("featureextractor")] + "imageprocessor"
    return key


def register_family(processor_class: type) -> type:
    """Make a built-in family loadable by its transformers class name, aliases and model types (a decorator)."""
    for name in (processor_class.transformers_class, processor_class.__name__, *processor_class.class_aliases):
        _BY_NAME.setdefault(_class_key(name), {})[None] = processor_class
    for model_type in processor_class.model_types:
        _BY_MODEL_TYPE.setdefault(model_type, {})[None] = processor_class
    return processor_class


def _lookup(table: dict[str, dict[str | None, type]], key: str, backend: str | None) -> type | None:
    entry = table.get(key)
    if not entry:
        return None
    return entry.get(backend) or entry.get(None) or next(iter(entry.values()))


def family_for_config(config: dict[str, Any], model_config: dict[str, Any] | None = None, backend: str | None = None) -> type | None:
    """The processor class a config describes, or None when nothing in it is known."""
    for field in ("image_processor_type", "feature_extractor_type"):
        name = config.get(field)
        if isinstance(name, str) and name:
            found = _lookup(_BY_NAME, _class_key(name), backend)
            if found is not None:
                return found
    model_type = (model_config or {}).get("model_type") or config.get("model_type")
    if isinstance(model_type, str):
        return _lookup(_BY_MODEL_TYPE, model_type, backend) or _lookup(_BY_MODEL_TYPE, model_type.replace("_", "-"), backend)
    return None


def _remote_code_reference(loaded: LoadedConfig) -> str | None:
    for source in (loaded.config, loaded.model_config):
        auto_map = source.get("auto_map") if isinstance(source, dict) else None
        if isinstance(auto_map, dict) and auto_map.get("AutoImageProcessor"):
            return str(auto_map["AutoImageProcessor"])
    return None


class AutoImageProcessor:
    """Loads the right family for a checkpoint, like transformers' ``AutoImageProcessor``."""

    def __init__(self) -> None:
        raise TypeError("AutoImageProcessor is not instantiated; use AutoImageProcessor.from_pretrained(...)")

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        backend: str | None = None,
        use_fast: bool | None = None,
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Load a processor from a hub id, folder or JSON file; ``backend`` picks "pil", "torchvision" or a registered one.

        Remote code (``auto_map``) is never run: with ``trust_remote_code=True`` such configs raise
        :class:`RemoteCodeError`; without it, the built-in family is used when the config names one.
        """
        backend = _resolve_use_fast(backend, use_fast)
        hub = {k: kwargs.pop(k) for k in list(kwargs) if k in HUB_KWARGS}
        loaded = load_config(pretrained_model_name_or_path, **hub)
        return cls.from_config(loaded, backend=backend, trust_remote_code=trust_remote_code, **kwargs)

    @classmethod
    def from_config(cls, loaded: LoadedConfig | dict[str, Any], *, backend: str | None = None, trust_remote_code: bool = False, **kwargs: Any) -> Any:
        """Build the processor for an already-loaded config (a dict or a :class:`LoadedConfig`)."""
        if isinstance(loaded, dict):
            loaded = LoadedConfig(loaded, "<dict>")
        remote = _remote_code_reference(loaded)
        if remote is not None and trust_remote_code:
            raise RemoteCodeError(
                f"{loaded.source}: this config asks for remote code ({remote}); pixelprep never runs code from a "
                "config or the hub. Register a family for it with AutoImageProcessor.register instead."
            )
        family = family_for_config(loaded.config, loaded.model_config, backend)
        if family is None:
            if remote is not None:
                raise RemoteCodeError(
                    f"{loaded.source}: the processor is defined by remote code ({remote}), which pixelprep does not "
                    "execute (trust_remote_code=True would not change that); register a family for it instead"
                )
            named = loaded.config.get("image_processor_type") or loaded.config.get("feature_extractor_type")
            model_type = loaded.model_config.get("model_type")
            raise ConfigError(
                f"{loaded.source}: unknown image processor "
                f"{named or model_type or '(the config names no image_processor_type and no model_type)'}; "
                f"known processor types: {', '.join(sorted(known_processor_types()))}"
            )
        return family.from_dict(loaded.config, backend=backend, **kwargs)

    @staticmethod
    def register(key: str | type, image_processor_class: type, *, backend: str | None = None, exist_ok: bool = False) -> None:
        """Map a model type or processor class name (or a config class with ``model_type``) to a family.

        With ``backend`` the class is used only when that backend is requested; registering the same key
        again for another backend merges with what is there.
        """
        name = getattr(key, "model_type", None) or (key if isinstance(key, str) else getattr(key, "__name__", None))
        if not name:
            raise InvalidArgumentError(f"cannot register {key!r}: pass a model type string or a config class with model_type")
        for table, table_key in ((_BY_MODEL_TYPE, name), (_BY_NAME, _class_key(name))):
            entry = table.setdefault(table_key, {})
            if backend in entry and entry[backend] is not image_processor_class and not exist_ok:
                raise InvalidArgumentError(f"{name!r} is already registered for backend {backend!r}; pass exist_ok=True to replace it")
            entry[backend] = image_processor_class
        # Also by the class names it is known as, so a config it saved (image_processor_type) loads it back.
        for class_name in {image_processor_class.__name__, _own_class_name(image_processor_class)}:
            _BY_NAME.setdefault(_class_key(class_name), {}).setdefault(backend, image_processor_class)


def _resolve_use_fast(backend: str | None, use_fast: bool | None) -> str | None:
    if use_fast is None:
        return backend
    warnings.warn(
        "use_fast is deprecated; pass backend='torchvision' instead of use_fast=True, or backend='pil' instead of use_fast=False",
        FutureWarning,
        stacklevel=3,
    )
    return backend or ("torchvision" if use_fast else "pil")


def known_processor_types() -> list[str]:
    """Every transformers class name that loads a built-in or registered family."""
    names = set()
    for entry in _BY_NAME.values():
        for klass in entry.values():
            names.add(_own_class_name(klass))
    return sorted(names)


def _own_class_name(klass: type) -> str:
    """The ``transformers_class`` a class declares itself, else its own name (never one inherited from a parent)."""
    return klass.__dict__.get("transformers_class") or klass.__name__
