"""VideoMAE (and TimeSformer): every frame of every video resized by its shortest edge, center-cropped, rescaled and normalised.

A video is a list of frames (images) or a 4-D array (frames, H, W, C or C-first); a batch is a list of videos. One
image is a video of one frame; a flat list of images is one video. ``pixel_values`` is (videos, frames, C, H, W).
Frames of one video may differ in size: each is processed alone, as in transformers' classes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..auto import register_family
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..multiview import nest_inputs
from ..processor import ImageProcessor
from .constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD


def _is_frame_stack(item: Any) -> bool:
    return getattr(item, "ndim", None) == 4 and not isinstance(item, (list, tuple))


def nest_videos(videos: Any) -> list[list[Any]]:
    """``videos`` as a list of videos, each a list of frames, read as transformers' nested image lists are.

    A list whose items are all 4-D arrays is one video per array; a list of lists is one video per inner list;
    anything else (one image, a flat list of images, one 4-D array) is one video.
    """
    if isinstance(videos, (list, tuple)) and videos and all(_is_frame_stack(item) for item in videos):
        samples = [flatten_inputs(item) for item in videos]
        if not all(samples):
            raise InvalidArgumentError(f"videos: video(s) {[i for i, s in enumerate(samples) if not s]} hold no frame")
        return samples
    if isinstance(videos, (list, tuple)) and all(isinstance(video, (list, tuple)) and not video for video in videos):
        raise InvalidArgumentError("videos is empty: pass at least one video of at least one frame")
    return nest_inputs(videos)


class VideoFramesProcessor(ImageProcessor):
    """A family whose input is videos: every frame runs the family's per-image pipeline, outputs grouped per video."""

    #: Why ``pixelprep run`` (one image per row) cannot run this family.
    runner_refusal: ClassVar[str] = "it takes videos (lists of frames); call the processor on [[frame, frame, ...], ...] instead"

    def __call__(self, videos: Any, **kwargs: Any) -> BatchFeature:
        """Preprocess one video (a list of frames or a 4-D array) or a list of videos."""
        return self.preprocess(videos, **kwargs)

    def preprocess(self, videos: Any, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor: ``pixel_values`` is (videos, frames, C, H, W), or a list per video where shapes differ."""
        samples = nest_videos(videos)
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.process_images([frame for video in samples for frame in video], params, backend)
        features["pixel_values"] = group_frames(features["pixel_values"], [len(video) for video in samples], params.get("return_tensors") is not None)
        return self.finalize(features, params, backend)


def group_frames(values: Any, counts: list[int], as_tensor: bool) -> Any:
    """Frame outputs (a batch array, or a list where sizes differ) as (videos, frames, ...) or, where that cannot stack, a list per video.

    ``as_tensor`` (a ``return_tensors`` was asked for) makes a ragged result an :class:`InvalidImageError`, as one tensor cannot hold it.
    """
    if not isinstance(values, list) and len(set(counts)) == 1:
        return values.reshape(len(counts), counts[0], *values.shape[1:])
    starts = [sum(counts[:i]) for i in range(len(counts))]
    videos = [values[start : start + count] for start, count in zip(starts, counts)]
    if as_tensor:
        shapes = sorted({(count, *tuple(int(n) for n in frame.shape)) for count, video in zip(counts, videos) for frame in video})
        raise InvalidImageError(
            f"cannot stack videos into one tensor: their (frames, C, H, W) differ {shapes}; give every video as many frames and "
            "resize/crop them to one size (do_resize, do_center_crop), or pass return_tensors=None"
        )
    return videos


@register_family
class VideoMAEImageProcessor(VideoFramesProcessor):
    """VideoMAE and TimeSformer: shortest edge 224 (bilinear), center crop 224x224, 0.5/0.5 normalisation per frame."""

    transformers_class = "VideoMAEImageProcessor"
    model_types = ("videomae", "timesformer")
    defaults = {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 2,
        "default_to_square": False,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_STANDARD_MEAN,
        "image_std": IMAGENET_STANDARD_STD,
    }
