"""Finding and reading processor configs: a JSON file, a local folder, or a model on the Hugging Face hub.

Configs are only ever parsed as JSON; nothing in them is executed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, ConfigNotFoundError

PREPROCESSOR_CONFIG = "preprocessor_config.json"
PROCESSOR_CONFIG = "processor_config.json"
MODEL_CONFIG = "config.json"
HUB_KWARGS = frozenset({"cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder"})
MAX_CONFIG_DEPTH = 64  # real configs nest 3 or 4 levels


@dataclass
class LoadedConfig:
    """A processor config and what was found beside it."""

    config: dict[str, Any]
    source: str
    model_config: dict[str, Any] = field(default_factory=dict)


def read_json_config(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a JSON config file into a dict, with our errors for missing, unreadable or non-object files."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError as exc:
        raise ConfigNotFoundError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise ConfigError(f"{path}: unusable JSON: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: JSON nested too deeply to parse") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a JSON object, got {type(data).__name__}")
    check_config_depth(data, str(path))
    return data


def check_config_depth(config: Any, source: str) -> None:
    """Refuse a config nested deeper than ``MAX_CONFIG_DEPTH`` (copying or saving it would exhaust the stack)."""
    pending = [(config, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{source}: the config is nested more than {MAX_CONFIG_DEPTH} levels deep")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend((item, depth + 1) for item in value)


def _nested_image_processor(path: str) -> dict[str, Any] | None:
    """The ``image_processor`` entry of a ``processor_config.json``, if it has one."""
    nested = read_json_config(path).get("image_processor")
    if nested is not None and not isinstance(nested, dict):
        raise ConfigError(f"{path}: 'image_processor' must be a JSON object")
    return nested


def _timm_checkpoint_config(model_config: dict[str, Any]) -> dict[str, Any] | None:
    """A timm checkpoint's ``config.json`` as its processor config (timm checkpoints ship no preprocessor config, as transformers reads them)."""
    if not isinstance(model_config.get("pretrained_cfg"), dict):
        return None
    return dict(model_config, model_type=model_config.get("model_type") or "timm_wrapper")


def _from_folder(folder: str) -> LoadedConfig:
    preprocessor = os.path.join(folder, PREPROCESSOR_CONFIG)
    processor = os.path.join(folder, PROCESSOR_CONFIG)
    model = os.path.join(folder, MODEL_CONFIG)
    config = None
    source = preprocessor
    if os.path.isfile(processor):
        config = _nested_image_processor(processor)
        source = processor
    if config is None and os.path.isfile(preprocessor):
        config, source = read_json_config(preprocessor), preprocessor
    model_config = read_json_config(model) if os.path.isfile(model) else {}
    if config is None:
        config, source = _timm_checkpoint_config(model_config), model
    if config is None:
        raise ConfigNotFoundError(f"{folder}: no {PREPROCESSOR_CONFIG} (nor an 'image_processor' entry in {PROCESSOR_CONFIG})")
    return LoadedConfig(config, source, model_config)


def _hub_file(repo_id: str, filename: str, **hub: Any) -> str | None:
    """Path of ``filename`` from the hub cache (downloading unless ``local_files_only``), or None if absent."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
    except ImportError as exc:  # pragma: no cover - huggingface_hub is a core dependency
        raise ConfigNotFoundError(f"{repo_id}: loading from the hub needs huggingface_hub") from exc
    try:
        return hf_hub_download(repo_id, filename, **{k: v for k, v in hub.items() if v is not None})
    except LocalEntryNotFoundError as exc:  # a subclass of EntryNotFoundError: test it first
        if hub.get("local_files_only"):
            return None
        raise ConfigNotFoundError(f"{repo_id}: could not download {filename} (offline or unreachable): {exc}") from exc
    except EntryNotFoundError:
        return None
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise ConfigNotFoundError(f"{repo_id}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ConfigNotFoundError(f"{repo_id}: could not fetch {filename}: {exc}") from exc


def _hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (read by huggingface_hub at import) forbids network access."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub is a core dependency
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _from_hub(repo_id: str, **hub: Any) -> LoadedConfig:
    config = None
    source = f"{repo_id}/{PREPROCESSOR_CONFIG}"
    path = _hub_file(repo_id, PREPROCESSOR_CONFIG, **hub)
    if path is not None:
        config = read_json_config(path)
    else:
        processor_path = _hub_file(repo_id, PROCESSOR_CONFIG, **hub)
        if processor_path is not None:
            config, source = _nested_image_processor(processor_path), f"{repo_id}/{PROCESSOR_CONFIG}"
    model_path = _hub_file(repo_id, MODEL_CONFIG, **hub)
    model_config = read_json_config(model_path) if model_path else {}
    if config is None:
        config, source = _timm_checkpoint_config(model_config), f"{repo_id}/{MODEL_CONFIG}"
    if config is None:
        where = "in the local cache (local_files_only=True or HF_HUB_OFFLINE=1)" if hub.get("local_files_only") else "in the repository"
        raise ConfigNotFoundError(f"{repo_id}: no {PREPROCESSOR_CONFIG} or {PROCESSOR_CONFIG} found {where}")
    return LoadedConfig(config, source, model_config)


def load_config(
    pretrained_model_name_or_path: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    token: str | bool | None = None,
    revision: str | None = None,
    subfolder: str | None = None,
) -> LoadedConfig:
    """Find a processor config: a JSON file, a folder holding one, or a hub model id.

    ``local_files_only`` never touches the network (the ``HF_HUB_OFFLINE`` environment variable does the same).
    """
    location = _checked_location(pretrained_model_name_or_path)
    _check_hub_kwargs(cache_dir=cache_dir, force_download=force_download, local_files_only=local_files_only, token=token, revision=revision, subfolder=subfolder)
    if subfolder and os.path.isdir(location):
        location = os.path.join(location, subfolder)
    if os.path.isfile(location):
        folder = os.path.dirname(location)
        model = os.path.join(folder, MODEL_CONFIG)
        model_config = read_json_config(model) if os.path.isfile(model) and os.path.abspath(model) != os.path.abspath(location) else {}
        return LoadedConfig(read_json_config(location), location, model_config)
    if os.path.isdir(location):
        return _from_folder(location)
    if location.count("/") > 1 or location.startswith((".", "/", "~")) or location.endswith(".json"):
        raise ConfigNotFoundError(f"{location}: no such file or folder")
    hub = {
        "cache_dir": cache_dir,
        "force_download": force_download or None,
        # Offline mode means "cache only": a file missing from the cache (an optional config.json) is absent, not an error.
        "local_files_only": local_files_only or _hub_offline() or None,
        "token": token,
        "revision": revision,
        "subfolder": subfolder,
    }
    return _from_hub(location, **hub)


def _checked_location(value: Any) -> str:
    """A model id, folder or file as a string, with our error for anything else (ints, bytes, None)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"pretrained_model_name_or_path must be a hub model id, a folder or a JSON file path (a non-empty string), got {value!r}")
    return value


def _check_hub_kwargs(**hub: Any) -> None:
    """Types of the hub keyword arguments, checked before huggingface_hub sees them."""
    kinds = {
        "cache_dir": (str, os.PathLike),
        "force_download": (bool,),
        "local_files_only": (bool,),
        "token": (str, bool),
        "revision": (str,),
        "subfolder": (str,),
    }
    for name, value in hub.items():
        if value is not None and not isinstance(value, kinds[name]):
            wanted = " or ".join("a path" if kind is os.PathLike else kind.__name__ for kind in kinds[name])
            raise ConfigError(f"{name} must be {wanted}, got {value!r}")
