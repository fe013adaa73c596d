"""The exceptions pixelprep raises for bad input, bad configs and unavailable features.

Every error derives from :class:`PixelprepError` and also from the builtin exception a caller would
naturally catch (``ValueError``, ``TypeError``, ``OSError`` ...), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

import difflib


class PixelprepError(Exception):
    """Base class of every error pixelprep raises on purpose."""


class InvalidArgumentError(PixelprepError, ValueError):
    """An argument has an impossible value (negative size, wrong-length mean, ...)."""


class UnknownArgumentError(PixelprepError, TypeError):
    """A keyword argument (or attribute) is not one the processor knows; the message lists the valid names and close ones."""

    def __init__(self, names: list[str], valid: list[str], where: str, what: str = "argument") -> None:
        self.names = list(names)
        self.valid = sorted(valid)
        listed = ", ".join(repr(n) for n in self.names)
        close = sorted({match for n in self.names for match in difflib.get_close_matches(str(n), self.valid, n=3, cutoff=0.7)})
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"{where} got unknown {what}(s) {listed}.{hint} Valid {what}s are: {', '.join(self.valid)}.")


class ArgumentTypeError(PixelprepError, TypeError):
    """Arguments of the wrong type or in the wrong order for a call (``BatchFeature.to(dtype, device)``)."""


class InvalidImageError(PixelprepError, ValueError):
    """An in-memory image has an unusable shape, dtype, value range or channel count."""


class UnsupportedInputError(PixelprepError, TypeError):
    """An input is of a type pixelprep cannot turn into an image."""


class ImageDecodeError(PixelprepError, OSError):
    """A file, byte string or download could not be decoded as an image (corrupt, truncated, empty...)."""


class DecompressionBombError(ImageDecodeError):
    """An image declares more pixels than Pillow's ``MAX_IMAGE_PIXELS`` limit allows."""


class ImageNotFoundError(PixelprepError, FileNotFoundError):
    """A path given as an image does not exist."""


class DownloadError(PixelprepError, OSError):
    """An image URL could not be fetched (timeout, HTTP error, size cap exceeded)."""


class ConfigError(PixelprepError, ValueError):
    """A processor configuration is malformed or names an unknown processor type."""


class ConfigNotFoundError(ConfigError, OSError):
    """No ``preprocessor_config.json`` could be found (or downloaded) for the requested model."""


class RemoteCodeError(ConfigError):
    """A config asks for custom code from the hub, which pixelprep never executes."""


class BackendUnavailableError(PixelprepError, ImportError):
    """A backend was requested whose dependencies are not installed and no fallback was allowed."""


class OutputShapeError(PixelprepError, ValueError):
    """Images of different final shapes cannot be stacked into one tensor."""


class OutputError(PixelprepError, OSError):
    """An output folder or file cannot be used: not a folder, not writable, full, holding another job, or incomplete."""


class OutputLockedError(OutputError):
    """The output folder is in use by another ``pixelprep run``; the message names it (pid, host, start time)."""
