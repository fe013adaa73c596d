"""Drop-in mode: pixelprep processors where code that calls transformers expects transformers' image processors.

transformers' pipelines and multimodal ``Processor`` classes check that their image processor is a
transformers ``ImageProcessingMixin``. :func:`as_transformers` wraps a pixelprep processor in a
``BaseImageProcessor`` subclass that delegates every call to it; :func:`patch_transformers` makes
``transformers.AutoImageProcessor.from_pretrained`` (which pipelines and ``AutoProcessor`` use) return
such wrappers for the families pixelprep has and transformers' own class for the others.
:func:`unpatch_transformers` restores transformers. Importing this module changes nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from .auto import _BY_NAME, _class_key
from .errors import InvalidArgumentError
from .features import BatchFeature
from .processor import ImageProcessor

logger = logging.getLogger(__name__)

# transformers kwargs that tune how its torchvision backend batches work or what a multimodal processor reads
# back; they never change the pixels, so the wrapper accepts and ignores them
_IGNORED_CALL_KWARGS = frozenset({"disable_grouping", "image_seq_length"})

# transformers classes whose call returns one output tensor, not a BatchFeature (their Processor classes use the
# return value as that tensor): class name -> the output key the wrapper returns bare
_BARE_OUTPUT_KEYS = {"IdeficsImageProcessor": "pixel_values"}

_WRAPPER_CLASSES: dict[type, type] = {}
_PATCH_LOCK = threading.Lock()
_ORIGINAL_FROM_PRETRAINED: Any = None
_ORIGINAL_DESCRIPTOR: list[Any] = [None]


def _transformers_types() -> tuple[Any, Any]:
    """(BaseImageProcessor, BatchFeature) of transformers, imported on first use."""
    from transformers.image_processing_base import BatchFeature as TransformersBatchFeature
    from transformers.image_processing_utils import BaseImageProcessor

    return BaseImageProcessor, TransformersBatchFeature


def _to_transformers_value(value: Any, batch_class: type) -> Any:
    """A pixelprep output value with every :class:`BatchFeature` in it (DETR's per-image labels) made transformers' own."""
    if isinstance(value, BatchFeature):
        return batch_class(data={k: _to_transformers_value(v, batch_class) for k, v in value.items()})
    if isinstance(value, list):
        return [_to_transformers_value(item, batch_class) for item in value]
    return value


def _wrapper_class(family: type) -> type:
    """The ``BaseImageProcessor`` subclass standing in for ``family`` (one per family, built once)."""
    with _PATCH_LOCK:
        wrapper = _WRAPPER_CLASSES.get(family)
        if wrapper is None:
            base, _ = _transformers_types()
            namespace = dict(_WrapperMethods.__dict__)
            namespace.pop("__dict__", None)
            namespace.pop("__weakref__", None)
            namespace["__module__"] = __name__
            namespace["__doc__"] = f"transformers' view of pixelprep's {family.__name__}: every call runs on pixelprep."
            namespace["_family"] = family
            reference = _reference_class(family)
            # what transformers' class declares: multimodal processors pass exactly these keys to the model
            namespace["model_input_names"] = list(getattr(reference, "model_input_names", family.model_input_names))
            namespace["valid_kwargs"] = getattr(reference, "valid_kwargs", None) or _images_kwargs()
            for name in family.param_names():
                # the parameters live in the pixelprep processor; class-level defaults of BaseImageProcessor
                # (rescale_factor, default_to_square, ...) would otherwise shadow them
                namespace[name] = _param_property(name)
            wrapper = type(family.__name__, (base,), namespace)
            _WRAPPER_CLASSES[family] = wrapper
        return wrapper


def _reference_class(family: type) -> type | None:
    """transformers' class that ``family`` reproduces (None for a family transformers lacks)."""
    import transformers

    return getattr(transformers, family.transformers_class, None)


def _images_kwargs() -> type:
    """transformers' TypedDict of common image-processor call kwargs (multimodal processors route kwargs by it)."""
    from transformers.processing_utils import ImagesKwargs

    return ImagesKwargs


def _param_property(name: str) -> property:
    def read(self: Any) -> Any:
        return getattr(self._pixelprep, name)

    def write(self: Any, value: Any) -> None:
        setattr(self._pixelprep, name, value)

    return property(read, write, doc=f"The pixelprep processor's {name!r}.")


class _WrapperMethods:
    """Methods of every wrapper class (copied into each family's ``BaseImageProcessor`` subclass)."""

    def __init__(self, processor: ImageProcessor | None = None, **params: Any) -> None:
        """Wrap ``processor``, or build the family's processor from ``params``, a config dict's keys as transformers passes them."""
        if processor is None:
            # from_dict, not the constructor: a saved config's service keys (image_processor_type, ...) are kept, not refused
            processor = self._family.from_dict(params)
        elif params:
            raise InvalidArgumentError(f"pass either a processor or parameters to {type(self).__name__}, not both")
        # transformers' own __init__ would set attributes from kwargs; ours live in the pixelprep processor
        object.__setattr__(self, "_pixelprep", processor)
        object.__setattr__(self, "_valid_kwargs_names", list(processor.param_names()))

    @property
    def pixelprep_processor(self) -> ImageProcessor:
        """The pixelprep processor doing the work."""
        return self._pixelprep

    @property
    def backend(self) -> str:
        """"torchvision" or "pil", as transformers' processors say."""
        return self._pixelprep.backend_name

    def __getattr__(self, name: str) -> Any:
        # only reached for names the class does not define: post-processing, family methods, unknown config keys
        if name.startswith("__") or "_pixelprep" not in self.__dict__:
            raise AttributeError(name)
        processor = self.__dict__["_pixelprep"]
        if name in processor.extra or name in _IGNORED_CALL_KWARGS:
            return processor.extra.get(name)  # transformers' own classes hold None for these when unset
        return getattr(processor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._pixelprep.param_names():
            setattr(self._pixelprep, name, value)
        else:
            object.__setattr__(self, name, value)

    def __call__(self, images: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Preprocess with pixelprep; returns transformers' ``BatchFeature``."""
        return self.preprocess(images, *args, **kwargs)

    def preprocess(self, images: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Same as calling the wrapper: kwargs that transformers accepts and that never change pixels are ignored;
        the result has the type transformers' class returns (a BatchFeature, or IDEFICS' bare pixel values)."""
        _, batch_class = _transformers_types()
        kwargs = {k: v for k, v in kwargs.items() if k not in _IGNORED_CALL_KWARGS}
        result = self._pixelprep.preprocess(images, *args, **kwargs)
        bare_key = _BARE_OUTPUT_KEYS.get(self._family.transformers_class)
        if bare_key is not None:
            return result[bare_key]
        return batch_class(data={k: _to_transformers_value(v, batch_class) for k, v in result.items()})

    def to_dict(self) -> dict[str, Any]:
        """The pixelprep processor's config dict (transformers reads it back into its own class)."""
        return self._pixelprep.to_dict()

    def to_json_string(self) -> str:
        """The config as JSON, as transformers writes it."""
        return self._pixelprep.to_json_string()

    def to_json_file(self, json_file_path: str | os.PathLike) -> None:
        """Write the config JSON to ``json_file_path``."""
        self._pixelprep.to_json_file(json_file_path)

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> list[str]:
        """Write ``preprocessor_config.json``; pushing to the hub is not done here (upload the folder with huggingface_hub)."""
        if push_to_hub:
            raise InvalidArgumentError("push_to_hub is not supported by pixelprep; save, then upload the folder with huggingface_hub")
        return self._pixelprep.save_pretrained(save_directory)

    def resize(self, image: Any, size: Any, resample: Any = None, **kwargs: Any) -> Any:
        """pixelprep's single-step resize."""
        return self._pixelprep.resize(image, size, resample, **kwargs)

    def center_crop(self, image: Any, size: Any, **kwargs: Any) -> Any:
        """pixelprep's single-step center crop."""
        return self._pixelprep.center_crop(image, size, **kwargs)

    def rescale(self, image: Any, scale: float, **kwargs: Any) -> Any:
        """pixelprep's single-step rescale."""
        return self._pixelprep.rescale(image, scale, **kwargs)

    def normalize(self, image: Any, mean: Any, std: Any, **kwargs: Any) -> Any:
        """pixelprep's single-step normalize."""
        return self._pixelprep.normalize(image, mean, std, **kwargs)

    def pad(self, *args: Any, **kwargs: Any) -> Any:
        """pixelprep's single-step padding (the family's signature)."""
        return self._pixelprep.pad(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__} (pixelprep, transformers-compatible) {self.to_json_string()}"

    def __reduce__(self) -> Any:
        return (as_transformers, (self._pixelprep,))

    def __deepcopy__(self, memo: dict) -> Any:
        import copy

        return as_transformers(copy.deepcopy(self._pixelprep, memo))

    @classmethod
    def from_dict(cls, image_processor_dict: dict[str, Any], **kwargs: Any) -> Any:
        """The family built by pixelprep from a config dict, wrapped."""
        built = cls._family.from_dict(image_processor_dict, **kwargs)
        if isinstance(built, tuple):
            return as_transformers(built[0]), built[1]
        return as_transformers(built)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> Any:
        """The family loaded by pixelprep from a hub id, folder or JSON file, wrapped."""
        return as_transformers(cls._family.from_pretrained(pretrained_model_name_or_path, **kwargs))


def as_transformers(processor: ImageProcessor) -> Any:
    """``processor`` as a transformers ``BaseImageProcessor``: accepted by pipelines and ``Processor`` classes, run by pixelprep."""
    if not isinstance(processor, ImageProcessor):
        raise InvalidArgumentError(f"as_transformers takes a pixelprep ImageProcessor, got {type(processor).__name__}")
    return _wrapper_class(type(processor))(processor)


def family_for_transformers_class(class_name: str) -> type | None:
    """The pixelprep family reproducing transformers' class ``class_name`` (any backend suffix), or None."""
    entry = _BY_NAME.get(_class_key(class_name))
    if not entry:
        return None
    family = entry.get(None) or next(iter(entry.values()))
    # only families that stand for a transformers class: a pixelprep-only family has no counterpart there
    return family if _class_key(family.transformers_class) == _class_key(class_name) else None


def _patched_from_pretrained(pretrained_model_name_or_path: str | os.PathLike, *args: Any, **kwargs: Any) -> Any:
    """transformers' AutoImageProcessor.from_pretrained, answered by pixelprep for the families it has."""
    original = _ORIGINAL_FROM_PRETRAINED
    # transformers resolves the class (config.json model type, backend, use_fast, hub kwargs, overrides) and
    # builds its processor; pixelprep then takes over from that processor's settings
    reference = original(pretrained_model_name_or_path, *args, **kwargs)
    name = type(reference).__name__
    family = family_for_transformers_class(name)
    if family is None:
        logger.info("pixelprep: %s uses transformers' %s (no pixelprep family)", pretrained_model_name_or_path, name)
        return reference
    # a class that predates transformers' backends (no backend attribute: Video-LLaVA, Emu3, TimmWrapper) runs on PIL/NumPy
    backend = getattr(reference, "backend", "pil")
    config = {k: v for k, v in reference.to_dict().items() if v is not None}
    wrapped = as_transformers(family.from_dict(config, backend=backend if backend in ("pil", "torchvision") else None))
    logger.info("pixelprep: %s uses pixelprep's %s (backend %s) in place of transformers' %s", pretrained_model_name_or_path, family.__name__, wrapped.backend, name)
    return wrapped


def patch_transformers() -> None:
    """Make ``transformers.AutoImageProcessor.from_pretrained`` (pipelines, ``AutoProcessor``) return pixelprep processors.

    Families pixelprep lacks fall back to transformers' own class; each load logs one line saying which.
    Calling it twice is harmless; :func:`unpatch_transformers` undoes it.
    """
    global _ORIGINAL_FROM_PRETRAINED
    from transformers import AutoImageProcessor

    with _PATCH_LOCK:
        if _ORIGINAL_FROM_PRETRAINED is not None:
            return
        # keep both the bound method (to call) and the raw classmethod (to put back)
        _ORIGINAL_FROM_PRETRAINED = AutoImageProcessor.from_pretrained
        _ORIGINAL_DESCRIPTOR[0] = AutoImageProcessor.__dict__["from_pretrained"]
        AutoImageProcessor.from_pretrained = staticmethod(_patched_from_pretrained)


def unpatch_transformers() -> None:
    """Restore transformers' own ``AutoImageProcessor.from_pretrained`` (a no-op when not patched)."""
    global _ORIGINAL_FROM_PRETRAINED
    from transformers import AutoImageProcessor

    with _PATCH_LOCK:
        if _ORIGINAL_FROM_PRETRAINED is None:
            return
        AutoImageProcessor.from_pretrained = _ORIGINAL_DESCRIPTOR[0]
        _ORIGINAL_FROM_PRETRAINED = None


def is_patched() -> bool:
    """Whether :func:`patch_transformers` is in effect."""
    return _ORIGINAL_FROM_PRETRAINED is not None
