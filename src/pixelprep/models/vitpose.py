"""ViTPose: one crop per person box, warped (bilinear) to 256x192, then rescale and normalize; keypoint post-processing.

A box (COCO: top-left x, y, width, height) is widened or heightened to the output's aspect ratio and
padded by 1.25; that region is warped onto the output with SciPy's ``affine_transform`` (order 1), as
both transformers classes do. Post-processing takes each heatmap's peak, refines it (DARK: a Gaussian-
smoothed log heatmap's Newton step) and maps it back through the same box.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import geometry
from ..auto import register_family
from ..errors import BackendUnavailableError, InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs, to_canonical
from ..params import _positive_int, normalize_bool, normalize_positive_float
from ..processor import ImageProcessor
from ..segmentation import output_field
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

BOX_PADDING = 1.25
# The crop region is scale x 200 (mmpose's pixel_std) whatever ``normalize_factor`` divided the box by, as in
# transformers: a factor other than 200 zooms the crop, and post-processing maps back through that same region.
PIXEL_STD = 200.0


def _scipy_ndimage() -> Any:
    try:
        from scipy import ndimage
    except ImportError as exc:
        raise BackendUnavailableError("ViTPose's box crops and pose post-processing need SciPy: pip install 'pixelprep[scipy]'") from exc
    return ndimage


def person_boxes(boxes: Any, counts: int | None, name: str = "boxes") -> list[np.ndarray]:
    """Per image, its (n, 4) float array of COCO boxes; checked: 4 finite numbers each, positive width and height."""
    if hasattr(boxes, "tolist"):
        boxes = boxes.tolist()
    if not isinstance(boxes, (list, tuple)):
        raise InvalidArgumentError(f"{name} must be a list per image of [x, y, width, height] boxes, got {type(boxes).__name__}")
    if counts is not None and len(boxes) != counts:
        raise InvalidArgumentError(f"got {name} for {len(boxes)} image(s) but {counts} image(s)")
    out = []
    for index, image_boxes in enumerate(boxes):
        try:
            array = np.asarray(image_boxes, dtype=np.float64).reshape(-1, 4) if len(image_boxes) else np.zeros((0, 4))
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"{name}[{index}] must be [x, y, width, height] boxes of numbers, got {image_boxes!r}") from exc
        if (len(image_boxes) and np.asarray(image_boxes, dtype=object).ndim != 2) or not np.isfinite(array).all() or (array[:, 2:] <= 0).any():
            raise InvalidArgumentError(f"{name}[{index}] must be [x, y, width, height] boxes with finite numbers and a positive width and height, got {image_boxes!r}")
        out.append(array)
    return out


def box_center_scale(box: np.ndarray, out_width: int, out_height: int, normalize_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """(center (x, y), scale (w, h) / ``normalize_factor`` padded by 1.25) of a COCO box, stretched to the output's aspect ratio."""
    x, y, width, height = (float(v) for v in box[:4])
    aspect = out_width / out_height
    center = np.array([x + width * 0.5, y + height * 0.5], dtype=np.float32)
    if width > aspect * height:
        height = width * 1.0 / aspect
    elif width < aspect * height:
        width = height * aspect
    return center, np.array([width / normalize_factor, height / normalize_factor], dtype=np.float32) * BOX_PADDING


def _box_to_output_matrix(center: np.ndarray, region: np.ndarray, out_width: int, out_height: int) -> np.ndarray:
    """The 2x3 float32 map from input (x, y) to output pixels: the box ``region`` (w, h) around ``center`` onto the output (no rotation)."""
    matrix = np.zeros((2, 3), dtype=np.float32)
    # float64 ratios of float32 sizes, rounded into the float32 matrix: the arithmetic of transformers' get_warp_matrix
    scale_x, scale_y = np.float64(out_width - 1.0) / region[0], np.float64(out_height - 1.0) / region[1]
    matrix[0, 0], matrix[1, 1] = scale_x, scale_y
    matrix[0, 2] = scale_x * (-0.5 * center[0] * 2.0 + 0.5 * region[0])
    matrix[1, 2] = scale_y * (-0.5 * center[1] * 2.0 + 0.5 * region[1])
    return matrix


def warp_box(image: np.ndarray, center: np.ndarray, scale: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """The box region of an HWC image warped bilinearly onto an ``out_height`` x ``out_width`` image of its dtype (zeros outside)."""
    ndimage = _scipy_ndimage()
    matrix = np.vstack([_box_to_output_matrix(center, scale * PIXEL_STD, out_width, out_height), [0, 0, 1]])
    inverse = np.linalg.inv(matrix)
    # SciPy indexes (row, column): the (x, y) inverse with its axes swapped
    pull = np.array([[inverse[1, 1], inverse[1, 0], inverse[1, 2]], [inverse[0, 1], inverse[0, 0], inverse[0, 2]], [0, 0, 1]])
    planes = [ndimage.affine_transform(image[..., c], pull, output_shape=(out_height, out_width), order=1) for c in range(image.shape[-1])]
    return np.stack(planes, axis=-1)


@register_family
class VitPoseImageProcessor(ImageProcessor):
    """ViTPose (top-down human pose estimation)."""

    transformers_class = "VitPoseImageProcessor"
    model_types = ("vitpose",)
    defaults = {
        "size": {"height": 256, "width": 192},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_affine_transform": True,
        "normalize_factor": 200.0,
    }
    extra_params = {"do_affine_transform": normalize_bool, "normalize_factor": normalize_positive_float}
    runner_refusal: ClassVar[str] = "it takes person boxes beside each image; call the processor with boxes=[...] instead"

    def __call__(self, images: Any, boxes: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images with their person boxes (per image, a list of [x, y, width, height]): one crop per box."""
        return self.preprocess(images, boxes, **kwargs)

    def preprocess(self, images: Any, boxes: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor. Without boxes (or ``do_affine_transform=False``) each image is only rescaled and normalized."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        items = flatten_inputs(images)
        if boxes is not None and params.get("do_affine_transform"):
            size = params.get("size")
            if size is None or "height" not in size:
                raise InvalidArgumentError(f"ViTPose's size must be {{'height': int, 'width': int}}, got {size}")
            height, width = geometry.check_output_size(size["height"], size["width"], "size")
            factor = params["normalize_factor"]
            options = self.load_options(params)
            crops = []
            for image, image_boxes in zip(items, person_boxes(boxes, len(items))):
                array = np.asarray(to_canonical(image, options))
                for box in image_boxes:
                    center, scale = box_center_scale(box, width, height, factor)
                    crops.append(warp_box(array, center, scale, height, width))
            if not crops:
                raise InvalidArgumentError("boxes holds no box: pass at least one [x, y, width, height] per call")
            items, params = crops, dict(params, input_data_format="channels_last")
        features = self.process_images(items, dict(params, do_resize=False, do_center_crop=False), backend)
        return self.finalize(features, params, backend)

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The box crop (when boxes are given), then rescale and normalize."""
        params = self._params if params is None else params
        lines = super().describe_pipeline(dict(params, do_resize=False, do_center_crop=False))
        if params.get("do_affine_transform"):
            size = params["size"]
            lines.insert(1 if lines and lines[0] == "convert to RGB" else 0, f"with boxes: each box padded 1.25x to the output's aspect, warped bilinearly to {size['height']}x{size['width']}")
        return lines

    def affine_transform(self, image: Any, center: Any, scale: Any, rotation: float, size: Any, **kwargs: Any) -> Any:
        """One box crop of a CHW image (as transformers' ``affine_transform``): ``center`` (x, y) and ``scale`` from the box; no rotation."""
        if rotation:
            raise InvalidArgumentError(f"rotation must be 0 (ViTPose crops upright boxes), got {rotation!r}")
        height, width = (size.height, size.width) if hasattr(size, "height") else (size["height"], size["width"])
        is_torch = hasattr(image, "detach")
        array = image.detach().cpu().numpy() if is_torch else np.asarray(image)
        if array.ndim != 3:
            raise InvalidArgumentError(f"image must be CHW, got shape {array.shape}")
        warped = warp_box(np.moveaxis(array, 0, -1), np.asarray(center, np.float32), np.asarray(scale, np.float32), height, width)
        out = np.ascontiguousarray(np.moveaxis(warped, -1, 0))
        if is_torch:
            import torch

            return torch.from_numpy(out).to(image.device)
        return out

    # ---------------------------------------------------------------------------------- post-processing

    def keypoints_from_heatmaps(self, heatmaps: np.ndarray, center: np.ndarray, scale: np.ndarray, kernel: int = 11) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints (B, K, 2) in image pixels, scores (B, K, 1)) of (B, K, H, W) heatmaps, each mapped back through its box's ``center`` and ``scale``."""
        coords, scores = heatmap_peaks(heatmaps)
        coords = refine_peaks(coords, heatmaps, kernel)
        for index in range(len(coords)):
            coords[index] = heatmap_to_image(coords[index], center[index], scale[index] * PIXEL_STD, heatmaps.shape[2:])
        return coords, scores

    def post_process_pose_estimation(
        self, outputs: Any, boxes: Any, kernel_size: int = 11, threshold: float | None = None, target_sizes: Any = None
    ) -> list[list[dict[str, Any]]]:
        """Per image, per box: ``keypoints`` (K, 2) in image pixels, ``scores`` (K,), ``labels`` (K,) and the box as ``bbox`` (x0, y0, x1, y1).

        ``boxes`` are the ones given to the processor; with ``target_sizes`` (one (height, width) per box) they are
        relative and scaled to it. ``threshold`` keeps the keypoints scoring above it.
        """
        import torch

        heatmaps = output_field(outputs, "heatmaps")
        heatmaps = heatmaps.detach().cpu().numpy() if hasattr(heatmaps, "detach") else np.asarray(heatmaps)
        if heatmaps.ndim != 4:
            raise InvalidArgumentError(f"heatmaps must be (boxes, keypoints, height, width), got shape {heatmaps.shape}")
        count, keypoints, _, _ = heatmaps.shape
        per_image = person_boxes(boxes, None)
        flat = [box for image_boxes in per_image for box in image_boxes]
        if len(flat) != count:
            raise InvalidArgumentError(f"got {len(flat)} boxes for {count} heatmaps: pass the boxes given to the processor")
        if target_sizes is not None:
            sizes = [tuple(float(v) for v in size) for size in (target_sizes.tolist() if hasattr(target_sizes, "tolist") else target_sizes)]
            if len(sizes) != count or any(len(size) != 2 for size in sizes):
                raise InvalidArgumentError(f"target_sizes must hold one (height, width) per box ({count}), got {len(sizes)}")
            flat = [box * np.array([w, h, w, h]) for box, (h, w) in zip(flat, sizes)]
        size, factor = self._params["size"], self._params["normalize_factor"]
        centers = np.zeros((count, 2), dtype=np.float32)
        scales = np.zeros((count, 2), dtype=np.float32)
        for index, box in enumerate(flat):
            centers[index], scales[index] = box_center_scale(box, size["width"], size["height"], factor)
        coords, scores = self.keypoints_from_heatmaps(heatmaps, centers, scales, kernel=_positive_int(kernel_size, "kernel_size"))
        labels = torch.arange(0, keypoints)
        results, position = [], 0
        for image_boxes in per_image:
            image_results = []
            for _ in image_boxes:
                box = flat[position]
                pose, score, names = torch.tensor(coords[position]), torch.tensor(scores[position]).squeeze(), labels
                if threshold is not None:
                    keep = score > threshold
                    pose, score, names = pose[keep], score[keep], names[keep]
                # the person box as corners, with the inclusive -1 of transformers' COCO-to-VOC conversion
                corners = torch.tensor([box[0], box[1], box[0] + box[2] - 1, box[1] + box[3] - 1], dtype=torch.float32)
                image_results.append({"keypoints": pose, "scores": score, "labels": names, "bbox": corners})
                position += 1
            results.append(image_results)
        return results


def heatmap_peaks(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each heatmap's argmax as float32 (x, y) (-1 where the peak is not positive) and its value, (B, K, 1)."""
    count, keypoints, _, width = heatmaps.shape
    flat = heatmaps.reshape(count, keypoints, -1)
    index = np.argmax(flat, 2).reshape(count, keypoints, 1)
    scores = np.amax(flat, 2).reshape(count, keypoints, 1)
    coords = np.tile(index, (1, 1, 2)).astype(np.float32)
    coords[:, :, 0] = coords[:, :, 0] % width
    coords[:, :, 1] = coords[:, :, 1] // width
    return np.where(np.tile(scores, (1, 1, 2)) > 0.0, coords, -1), scores


def refine_peaks(coords: np.ndarray, heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """DARK refinement: one Newton step on the Gaussian-smoothed log heatmap around each integer peak."""
    ndimage = _scipy_ndimage()
    count, keypoints, height, width = heatmaps.shape
    radius = int((kernel - 1) // 2)
    smooth = np.array([[ndimage.gaussian_filter(plane, sigma=0.8, radius=(radius, radius), axes=(0, 1)) for plane in maps] for maps in heatmaps])
    padded = np.pad(np.log(np.clip(smooth, 0.001, 50)), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge").flatten()
    row = width + 2
    index = coords[..., 0] + 1 + (coords[..., 1] + 1) * row
    index += row * (height + 2) * np.arange(0, count * keypoints).reshape(-1, keypoints)
    index = index.astype(int).reshape(-1, 1)
    center, right, left = padded[index], padded[index + 1], padded[index - 1]
    down, up = padded[index + row], padded[index - row]
    down_right, up_left = padded[index + row + 1], padded[index - row - 1]
    gradient = np.concatenate([0.5 * (right - left), 0.5 * (down - up)], axis=1).reshape(count, keypoints, 2, 1)
    dxx = right - 2 * center + left
    dyy = down - 2 * center + up
    dxy = 0.5 * (down_right - right - down + center + center - left - up + up_left)
    hessian = np.concatenate([dxx, dxy, dxy, dyy], axis=1).reshape(count, keypoints, 2, 2)
    hessian = np.linalg.inv(hessian + np.finfo(np.float32).eps * np.eye(2))
    coords -= np.einsum("ijmn,ijnk->ijmk", hessian, gradient).squeeze()
    return coords


def heatmap_to_image(coords: np.ndarray, center: np.ndarray, region: np.ndarray, heatmap_size: tuple[int, int]) -> np.ndarray:
    """(K, 2) heatmap coordinates mapped into the image through the box ``region`` (w, h) around ``center``."""
    scale_y = region[1] / (heatmap_size[0] - 1.0)
    scale_x = region[0] / (heatmap_size[1] - 1.0)
    out = np.ones_like(coords)
    out[:, 0] = coords[:, 0] * scale_x + center[0] - region[0] * 0.5
    out[:, 1] = coords[:, 1] * scale_y + center[1] - region[1] * 0.5
    return out
