"""Sapiens2 (human-centric pose, body-part segmentation, normals, pointmaps, matting): a 1024x768 squash, or one crop per person box.

Without boxes each image is resized to ``size`` (or, with ``do_pad``, fitted inside it and centred on a zero
canvas), then rescaled and normalised. With ``boxes`` (per image, COCO [x, y, width, height]) each box is
padded 1.25x to the output's aspect ratio and sampled onto ``size`` with ``grid_sample`` (corners aligned,
zeros outside; bilinear where the crop shrinks, bicubic where it grows), as transformers' class does; that
float sampling is torch's on both backends. ``keypoints`` give UDP Gaussian target heatmaps per person.
transformers has only a torchvision class: our pil backend runs the same geometry, resizing with Pillow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..auto import register_family
from ..backends import Backend
from ..errors import InvalidArgumentError, InvalidImageError
from ..features import BatchFeature
from ..geometry import check_output_size, max_height_width_size
from ..inputs import flatten_inputs, to_canonical
from ..params import _positive_int, normalize_bool, normalize_positive_float
from ..processor import CenterCrop, Resize
from ..segmentation import (
    SemanticSegmentationProcessor,
    back,
    load_label_map,
    output_field,
    reduce_labels,
    size_list,
    split_label_maps,
    to_torch,
)
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .dense_steps import from_torch_hwc, to_torch_hwc
from .vitpose import BOX_PADDING, heatmap_peaks, person_boxes


def box_crop_params(boxes: Any, out_height: int, out_width: int) -> tuple[Any, Any]:
    """(centers (n, 2), regions (n, 2) as width, height) of (n, 4) float32 COCO boxes: padded 1.25x, widened or heightened to the output's aspect."""
    import torch

    x, y, width, height = boxes.unbind(-1)
    center = torch.stack([x + 0.5 * width, y + 0.5 * height], dim=-1)
    padded_width, padded_height = width * BOX_PADDING, height * BOX_PADDING
    aspect = out_width / out_height
    wide = (padded_width > padded_height * aspect)[..., None]
    region = torch.where(wide, torch.stack([padded_width, padded_width / aspect], -1), torch.stack([padded_height * aspect, padded_height], -1))
    return center, region


def crop_boxes(image: Any, boxes: Any, out_height: int, out_width: int) -> Any:
    """(n, C, out_height, out_width) crops of a float32 CHW tensor, one per (n, 4) COCO box (see the module's docstring)."""
    import torch
    import torch.nn.functional as F

    if min(image.shape[1:]) == 1:
        # a 1-pixel side would make the grid divide by zero (transformers' crops are NaN there: README); a zero row or
        # column beyond it is what zeros padding samples anyway, and gives the axis a length grid_sample can scale
        image = F.pad(image, (0, int(image.shape[2] == 1), 0, int(image.shape[1] == 1)))
    channels, height, width = image.shape
    center, region = box_crop_params(boxes, out_height, out_width)
    scale_x, scale_y = (out_width - 1) / region[:, 0], (out_height - 1) / region[:, 1]
    grows = torch.minimum(scale_x, scale_y) >= 1.0
    rows, cols = torch.meshgrid(
        torch.arange(out_height, dtype=torch.float32, device=image.device), torch.arange(out_width, dtype=torch.float32, device=image.device), indexing="ij"
    )
    source_x = cols / scale_x[:, None, None] + center[:, 0, None, None] - 0.5 * region[:, 0, None, None]
    source_y = rows / scale_y[:, None, None] + center[:, 1, None, None] - 0.5 * region[:, 1, None, None]
    grid = torch.stack([2.0 * source_x / (width - 1) - 1.0, 2.0 * source_y / (height - 1) - 1.0], dim=-1)
    out = torch.empty(len(boxes), channels, out_height, out_width, dtype=image.dtype, device=image.device)
    for mask, mode in ((~grows, "bilinear"), (grows, "bicubic")):
        if mask.any():
            batch = image[None].expand(int(mask.sum()), -1, -1, -1)
            out[mask] = F.grid_sample(batch, grid[mask], mode=mode, padding_mode="zeros", align_corners=True)
    return out


def _gaussian_kernel(kernel: int, sigma: float, dtype: Any) -> Any:
    """torchvision's ``gaussian_blur`` kernel (a softmax over ``kernel`` points of +-(kernel-1)/(2*sqrt 2)), as a 2-D outer product."""
    import torch

    limit = (kernel - 1) / (2.0 * math.sqrt(2.0))
    weights = torch.softmax(torch.linspace(-limit, limit, steps=kernel, dtype=dtype).div(sigma).pow(2).neg(), dim=0)
    return torch.mm(weights[:, None], weights[None, :])


def blur_keeping_peaks(heatmaps: Any, kernel: int) -> Any:
    """(n, H, W) heatmaps blurred with OpenCV's sigma for ``kernel`` (zeros outside), each rescaled back to its own maximum."""
    import torch
    import torch.nn.functional as F

    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    border = (kernel - 1) // 2
    peaks = heatmaps.amax(dim=(1, 2))
    weights = _gaussian_kernel(kernel, sigma, heatmaps.dtype).to(heatmaps.device)
    blurred = F.conv2d(F.pad(heatmaps[:, None], (border,) * 4), weights[None, None])[:, 0]
    blurred_peaks = blurred.amax(dim=(1, 2))
    safe = torch.where(blurred_peaks > 0, blurred_peaks, torch.ones_like(blurred_peaks))
    return blurred * torch.where(blurred_peaks > 0, peaks / safe, torch.ones_like(peaks))[:, None, None]


def dark_step(coords: Any, log_heatmaps: Any) -> Any:
    """(n, K, 2) integer peaks moved by one Newton step on the (n, K, H, W) log heatmaps (edges replicated), in float32.

    The same step as ViTPose's ``refine_peaks``, whose NumPy 2x2 inverse runs in float64 and so lands up to an ulp
    of the image coordinates away from transformers' Sapiens2; this keeps that class's float32 closed form.
    """
    import torch
    import torch.nn.functional as F

    count, keypoints, height, width = log_heatmaps.shape
    flat = F.pad(log_heatmaps, (1, 1, 1, 1), mode="replicate").flatten()
    row = width + 2
    index = coords[..., 0].long() + 1 + (coords[..., 1].long() + 1) * row
    index = index + row * (height + 2) * torch.arange(count * keypoints, device=coords.device).reshape(count, keypoints)
    index = index[..., None]
    center, right, left = flat[index], flat[index + 1], flat[index - 1]
    down, up, down_right, up_left = flat[index + row], flat[index - row], flat[index + row + 1], flat[index - row - 1]
    gradient_x, gradient_y = 0.5 * (right - left), 0.5 * (down - up)
    eps = torch.finfo(log_heatmaps.dtype).eps
    xx = right - 2 * center + left + eps
    yy = down - 2 * center + up + eps
    xy = 0.5 * (down_right - right - down + center + center - left - up + up_left)
    determinant = xx * yy - xy * xy
    return coords - torch.cat([(yy * gradient_x - xy * gradient_y) / determinant, (-xy * gradient_x + xx * gradient_y) / determinant], dim=-1)


def udp_heatmaps(boxes: list[np.ndarray], keypoints: Any, out_height: int, out_width: int, factor: int, sigma: float) -> tuple[list[Any], list[Any]]:
    """Per person box, its (K, H/factor, W/factor) Gaussian target heatmaps (zero beyond 3 sigma and for unseen keypoints) and (K,) weights."""
    import torch

    height, width = out_height // factor, out_width // factor
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    extent = torch.tensor([width - 1, height - 1], dtype=torch.float32)
    reach = int(sigma * 3)
    heatmaps, weights = [], []
    for index, (image_boxes, image_points) in enumerate(zip(boxes, keypoints)):
        if len(image_points) != len(image_boxes):
            raise InvalidArgumentError(f"keypoints[{index}] holds {len(image_points)} person(s) but boxes[{index}] {len(image_boxes)}")
        centers, regions = box_crop_params(torch.tensor(image_boxes, dtype=torch.float32), out_height, out_width)
        for person, points in enumerate(image_points):
            points = _keypoint_array(points, f"keypoints[{index}][{person}]")
            if len(points) == 0:
                heatmaps.append(torch.zeros((0, height, width), dtype=torch.float32))
                weights.append(torch.zeros((0,), dtype=torch.float32))
                continue
            at = ((points[:, :2] - centers[person]) / regions[person] + 0.5) * extent
            x, y = at[:, 0].view(-1, 1, 1), at[:, 1].view(-1, 1, 1)
            maps = torch.exp(-((cols[None] - x) ** 2 + (rows[None] - y) ** 2) / (2 * sigma**2))
            seen = (points[:, 2] > 0).float() if points.shape[1] > 2 else torch.ones(len(points), dtype=torch.float32)
            # the 3-sigma window around the rounded peak: keypoints whose window misses the map weigh nothing
            mu = (at + 0.5).to(torch.int64)
            left, top, right, bottom = mu[:, 0] - reach, mu[:, 1] - reach, mu[:, 0] + reach + 1, mu[:, 1] + reach + 1
            outside = (left >= width) | (top >= height) | (right < 0) | (bottom < 0)
            weight = seen * (~outside).float()
            window = (cols[None] >= left.view(-1, 1, 1)) & (cols[None] < right.view(-1, 1, 1)) & (rows[None] >= top.view(-1, 1, 1)) & (rows[None] < bottom.view(-1, 1, 1))
            heatmaps.append(maps * weight.view(-1, 1, 1) * window.float())
            weights.append(weight)
    return heatmaps, weights


def _keypoint_array(points: Any, name: str) -> Any:
    """One person's keypoints as a (K, 2 or 3) float32 tensor of finite [x, y(, visibility)]; our error otherwise."""
    import torch

    if hasattr(points, "tolist"):
        points = points.tolist()
    try:
        array = np.asarray(points, dtype=np.float32) if len(points) else np.zeros((0, 3), np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{name} must be [x, y, visibility] lists of numbers, got {points!r}") from exc
    if array.ndim != 2 or array.shape[1] not in (2, 3) or not np.isfinite(array).all():
        raise InvalidArgumentError(f"{name} must be [x, y] or [x, y, visibility] lists of finite numbers, got {points!r}")
    return torch.from_numpy(array)


def _box_tensor(boxes: np.ndarray, device: Any = None) -> Any:
    import torch

    return torch.tensor(boxes, dtype=torch.float32, device=device)


@register_family
class Sapiens2ImageProcessor(SemanticSegmentationProcessor):
    """Sapiens2 (human-centric pose, segmentation, normal, pointmap and matting models)."""

    transformers_class = "Sapiens2ImageProcessor"
    model_types = ("sapiens2",)
    defaults = {
        "do_resize": True,
        "size": {"height": 1024, "width": 768},
        "resample": 2,
        "do_center_crop": False,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "do_normalize": True,
        "image_mean": IMAGENET_DEFAULT_MEAN,
        "image_std": IMAGENET_DEFAULT_STD,
        "do_pad": False,
        "keypoint_heatmap_downscale_factor": 4,
        "keypoint_heatmap_sigma": 6.0,
    }
    extra_params = {
        "do_reduce_labels": normalize_bool,
        "keypoint_heatmap_downscale_factor": _positive_int,
        "keypoint_heatmap_sigma": normalize_positive_float,
    }
    # label maps are resized with the images' filter, as transformers' class does
    nearest_labels = False

    def _output_size(self, params: dict[str, Any]) -> tuple[int, int]:
        size = params.get("size") or {}
        if "height" not in size:
            raise InvalidArgumentError(f"Sapiens2's size must be {{'height': int, 'width': int}}, got {size}")
        return check_output_size(size["height"], size["width"], "size")

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """Never: ``do_pad`` here letterboxes each image inside ``size`` (see :meth:`resize_steps`)."""
        return False

    def resize_steps(self, params: dict[str, Any]) -> list[Any]:
        """Squash to ``size``; with ``do_pad``, fit inside it keeping the aspect ratio and centre on zeros."""
        height, width = self._output_size(params)
        if params.get("do_pad"):
            return [Resize({"max_height": height, "max_width": width}, params["resample"]), CenterCrop(height, width)]
        return [Resize({"height": height, "width": width}, params["resample"])]

    def _crop_steps(self, params: dict[str, Any]) -> list[Any]:
        """The steps after a box crop (which already gives ``size``): the optional center crop."""
        return self.steps(dict(params, do_resize=False))

    def describe_pipeline(self, params: dict[str, Any] | None = None) -> list[str]:
        """The steps; with boxes, each box's crop replaces the resize."""
        params = self._params if params is None else params
        lines = super().describe_pipeline(params)
        height, width = self._output_size(params)
        at = 1 if lines and lines[0] == "convert to RGB" else 0
        lines.insert(at, f"with boxes: each box padded 1.25x to the output's aspect, sampled to {height}x{width} (bilinear shrinking, bicubic growing), instead of resizing")
        return lines

    def __call__(self, images: Any, segmentation_maps: Any = None, boxes: Any = None, keypoints: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images; optionally their ``segmentation_maps`` (as ``labels``), person ``boxes`` (one crop each) and ``keypoints`` (target heatmaps)."""
        return self.preprocess(images, segmentation_maps=segmentation_maps, boxes=boxes, keypoints=keypoints, **kwargs)

    def preprocess(self, images: Any, segmentation_maps: Any = None, boxes: Any = None, keypoints: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor. ``keypoints`` (per image, per box, [x, y, visibility] lists) need ``boxes`` and exclude ``segmentation_maps``."""
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        if segmentation_maps is not None and keypoints is not None:
            raise InvalidArgumentError("pass segmentation_maps or keypoints, not both: they are the targets of different tasks")
        if keypoints is not None and boxes is None:
            raise InvalidArgumentError("keypoints need the person boxes they belong to: pass boxes=[...] too")
        items = flatten_inputs(images)
        if not items:
            raise InvalidArgumentError("images is empty: pass at least one image")
        per_image = None if boxes is None else person_boxes(boxes, len(items))
        if per_image is None:
            features = self.process_images(items, params, backend)
        else:
            features = self._process_crops(items, per_image, params, backend)
        if segmentation_maps is not None:
            maps = split_label_maps(segmentation_maps, len(items))
            if len(maps) != len(items):
                raise InvalidArgumentError(f"got {len(maps)} segmentation maps for {len(items)} images")
            features["labels"] = self.process_label_maps(maps, params, backend) if per_image is None else self._crop_label_maps(maps, per_image, params, backend)
        if keypoints is not None:
            if hasattr(keypoints, "tolist"):
                keypoints = keypoints.tolist()
            if not isinstance(keypoints, (list, tuple)) or len(keypoints) != len(items):
                raise InvalidArgumentError(f"keypoints must be a list per image ({len(items)}) of per-person [x, y, visibility] lists, got {type(keypoints).__name__}")
            height, width = self._output_size(params)
            maps, weights = udp_heatmaps(per_image, keypoints, height, width, params["keypoint_heatmap_downscale_factor"], params["keypoint_heatmap_sigma"])
            numpy_out = backend.name == "pil"
            features["labels"] = [back(m, numpy_out) for m in maps]
            features["label_weights"] = [back(w, numpy_out) for w in weights]
        return self.finalize(features, params, backend)

    def _process_crops(self, items: list[Any], boxes: list[np.ndarray], params: dict[str, Any], backend: Backend) -> BatchFeature:
        """One float crop per box (in order), then the remaining steps, rescale and normalise."""
        height, width = self._output_size(params)
        options = self.load_options(params)
        steps = self._crop_steps(params)
        crops = []
        for item, image_boxes in zip(items, boxes):
            if not len(image_boxes):
                continue
            image = to_torch_hwc(backend, backend.from_canonical(to_canonical(item, options))).permute(2, 0, 1).float()
            for crop in crop_boxes(image, _box_tensor(image_boxes, image.device), height, width):
                native = from_torch_hwc(backend, crop.permute(1, 2, 0))
                for step in steps:
                    native = step.apply(backend, native)
                crops.append(backend.realize(native))
        if not crops:
            raise InvalidArgumentError("boxes holds no box: pass at least one [x, y, width, height] per call")
        return self._assemble(crops, params, backend, *self.affine_parts(params))

    def _crop_label_maps(self, maps: list[Any], boxes: list[np.ndarray], params: dict[str, Any], backend: Backend) -> list[Any]:
        """The maps cropped by the same boxes (float sampling, so labels blend as in transformers), reduced when asked, truncated to int64."""
        import torch

        height, width = self._output_size(params)
        steps = self._crop_steps(params)
        out = []
        for index, (item, image_boxes) in enumerate(zip(maps, boxes)):
            try:
                label_map = load_label_map(item)
            except InvalidImageError as error:
                raise InvalidImageError(f"segmentation_maps[{index}]: {error}") from None
            if not len(image_boxes):
                continue
            plane = torch.from_numpy(label_map.astype(np.float32))[None]
            for crop in crop_boxes(plane, _box_tensor(image_boxes), height, width):
                array = crop[0].numpy()
                if params.get("do_reduce_labels"):
                    array = reduce_labels(array).astype(np.float32)
                native = backend.from_canonical(np.ascontiguousarray(array[:, :, None]))
                for step in steps:
                    native = step.apply(backend, native)
                # a float-to-int64 cast truncates toward zero, as transformers' .to(torch.int64)
                out.append(backend.from_canonical(backend.to_numpy(backend.realize(native))[:, :, 0].astype(np.int64)))
        return out

    # ---------------------------------------------------------------------------------- post-processing

    def post_process_pose_estimation(
        self,
        outputs: Any,
        boxes: Any,
        outputs_flipped: Any = None,
        kernel_size: int = 11,
        threshold: float | None = None,
        source_sizes: Any = None,
        target_sizes: Any = None,
    ) -> list[list[dict[str, Any]]]:
        """Per image, per box: ``keypoints`` (K, 2) in image pixels, ``scores``, ``labels`` and ``bbox`` (x0, y0, x1, y1).

        Heatmaps (averaged with ``outputs_flipped``'s when given) are decoded at their peaks, refined by one
        Newton step on the blurred log heatmap (UDP DARK), and mapped back through each box's crop. With
        ``source_sizes`` and ``target_sizes`` (one (height, width) each per image) coordinates are rescaled to the target.
        """
        import torch

        per_image = person_boxes(boxes, None)
        sources, targets = size_list(source_sizes), size_list(target_sizes)
        if targets is not None and sources is None:
            raise InvalidArgumentError("target_sizes needs source_sizes: the (height, width) the boxes are given in")
        for name, sizes in (("source_sizes", sources), ("target_sizes", targets)):
            if sizes is not None and len(sizes) != len(per_image):
                raise InvalidArgumentError(f"got {len(sizes)} {name} for {len(per_image)} images")
        heatmaps, _ = to_torch(output_field(outputs, "heatmaps"))
        if outputs_flipped is not None:
            heatmaps = (heatmaps + to_torch(output_field(outputs_flipped, "heatmaps"))[0]) / 2
        if heatmaps.ndim != 4:
            raise InvalidArgumentError(f"heatmaps must be (boxes, keypoints, height, width), got shape {tuple(heatmaps.shape)}")
        count, keypoint_count, map_height, map_width = heatmaps.shape
        flat = [box for image_boxes in per_image for box in image_boxes]
        if len(flat) != count:
            raise InvalidArgumentError(f"got {len(flat)} boxes for {count} heatmaps: pass the boxes given to the processor")
        kernel = _positive_int(kernel_size, "kernel_size")
        if kernel % 2 == 0 or kernel == 1:
            raise InvalidArgumentError(f"kernel_size must be an odd integer above 1, got {kernel_size}")
        if count == 0:
            return [[] for _ in per_image]
        heatmaps = heatmaps.detach().float()
        device = heatmaps.device
        coords, scores = heatmap_peaks(heatmaps.cpu().numpy())
        smooth = blur_keeping_peaks(heatmaps.reshape(-1, map_height, map_width), kernel).reshape(heatmaps.shape)
        coords = dark_step(torch.from_numpy(coords).to(device), smooth.clamp(1e-3, 50.0).log())
        height, width = self._output_size(self._params)
        box_tensor = _box_tensor(np.stack(flat), device)
        centers, regions = box_crop_params(box_tensor, height, width)
        extent = torch.tensor([map_width - 1, map_height - 1], dtype=torch.float32, device=device)
        points = coords / extent * regions[:, None] + centers[:, None] - 0.5 * regions[:, None]
        corners = torch.cat([box_tensor[:, :2], box_tensor[:, :2] + box_tensor[:, 2:]], dim=-1)
        if targets is not None:
            ratios = torch.tensor([[tw / sw, th / sh] for (sh, sw), (th, tw) in zip(sources, targets)], dtype=torch.float32, device=device)
            per_person = torch.cat([ratios[i][None].expand(len(b), 2) for i, b in enumerate(per_image)])
            points = points * per_person[:, None]
            corners = corners * per_person[:, [0, 1, 0, 1]]
        scores_t = torch.from_numpy(scores[..., 0]).to(device)
        results, position = [], 0
        for image_boxes in per_image:
            people = []
            for _ in image_boxes:
                pose, score, labels = points[position], scores_t[position], torch.arange(keypoint_count, device=device)
                if threshold is not None:
                    keep = score > threshold
                    pose, score, labels = pose[keep], score[keep], labels[keep]
                people.append({"keypoints": pose, "scores": score, "labels": labels, "bbox": corners[position]})
                position += 1
            results.append(people)
        return results

    def post_process_normal_estimation(self, outputs: Any, source_sizes: Any = None, target_sizes: Any = None, do_remove_padding: bool | None = None) -> list[dict[str, Any]]:
        """Per image ``normals`` (3, H, W): unit vectors (L2 over the channels), padding removed and resized as :meth:`post_process_maps` says."""
        import torch.nn.functional as F

        normals, numpy_in = to_torch(output_field(outputs, "normals"))
        maps = self.post_process_maps(F.normalize(normals, p=2, dim=1, eps=1e-8), source_sizes, target_sizes, do_remove_padding)
        return [{"normals": back(m, numpy_in)} for m in maps]

    def post_process_pointmap_estimation(self, outputs: Any, source_sizes: Any = None, target_sizes: Any = None, do_remove_padding: bool | None = None) -> list[dict[str, Any]]:
        """Per image ``pointmap`` (3, H, W) of XYZ points (divided by the outputs' ``scales`` when present: metric), as :meth:`post_process_maps` says."""
        pointmaps, numpy_in = to_torch(output_field(outputs, "pointmaps"))
        scales = outputs.get("scales") if isinstance(outputs, dict) else getattr(outputs, "scales", None)
        if scales is not None:
            scales = to_torch(scales)[0]
            if scales.shape != (len(pointmaps), 1):
                raise InvalidArgumentError(f"scales must be (batch, 1) = ({len(pointmaps)}, 1), got shape {tuple(scales.shape)}")
            pointmaps = pointmaps / scales[:, :, None, None]
        maps = self.post_process_maps(pointmaps, source_sizes, target_sizes, do_remove_padding)
        return [{"pointmap": back(m, numpy_in)} for m in maps]

    def post_process_maps(self, maps: Any, source_sizes: Any = None, target_sizes: Any = None, do_remove_padding: bool | None = None) -> list[Any]:
        """(batch, C, H, W) dense predictions per image: the ``do_pad`` margins cut off (by default when ``source_sizes`` are given),
        then resized bilinearly to ``target_sizes``, else to ``source_sizes`` (each a (height, width) per image)."""
        import torch.nn.functional as F

        maps, _ = to_torch(maps)
        if maps.ndim != 4:
            raise InvalidArgumentError(f"the predicted maps must be (batch, channels, height, width), got shape {tuple(maps.shape)}")
        sources, targets = size_list(source_sizes), size_list(target_sizes)
        remove = sources is not None if do_remove_padding is None else bool(do_remove_padding)
        if remove and sources is None:
            raise InvalidArgumentError("do_remove_padding needs source_sizes: the (height, width) of each image before preprocessing")
        for name, sizes in (("source_sizes", sources), ("target_sizes", targets)):
            if sizes is not None and len(sizes) != len(maps):
                raise InvalidArgumentError(f"got {len(sizes)} {name} for a batch of {len(maps)} predictions")
        height, width = self._output_size(self._params)
        finals = targets if targets is not None else sources
        results = []
        for index, prediction in enumerate(maps):
            if remove:
                fit_height, fit_width = max_height_width_size(*sources[index], height, width)
                # where the letterbox placed the image: its (height - fit) // 2 margin, as geometry's center crop pads
                top, left = (height - fit_height) // 2 if fit_height < height else 0, (width - fit_width) // 2 if fit_width < width else 0
                prediction = prediction[:, top : top + min(fit_height, height), left : left + min(fit_width, width)]
            if finals is not None:
                prediction = F.interpolate(prediction[None], size=finals[index], mode="bilinear", align_corners=False, antialias=False)[0]
            results.append(prediction)
        return results

    def post_process_image_matting(self, outputs: Any, target_sizes: Any = None, backgrounds: Any = None) -> list[dict[str, Any]]:
        """Per image ``foreground`` (3, H, W, premultiplied), ``alpha`` (1, H, W), both in 0..1, and ``composite`` (uint8 over ``backgrounds``, else None).

        ``target_sizes`` resize both bilinearly (then clamp to 0..1); ``backgrounds`` (one for every image, or
        one each) are resized to the matte where their size differs.
        """
        import torch
        import torch.nn.functional as F

        foregrounds, numpy_in = to_torch(output_field(outputs, "foregrounds"))
        alphas = to_torch(output_field(outputs, "alphas"))[0]
        if foregrounds.ndim != 4 or alphas.shape != (len(foregrounds), 1, *foregrounds.shape[2:]):
            raise InvalidArgumentError(f"foregrounds must be (batch, 3, H, W) and alphas (batch, 1, H, W), got {tuple(foregrounds.shape)} and {tuple(alphas.shape)}")
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(foregrounds):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(foregrounds)} mattes")
        layers = flatten_inputs(backgrounds) if backgrounds is not None else []
        if layers and len(layers) not in (1, len(foregrounds)):
            raise InvalidArgumentError(f"got {len(layers)} backgrounds for a batch of {len(foregrounds)} mattes: pass one, or one per image")
        layers = [_background_tensor(layer, foregrounds.dtype, index).to(foregrounds.device) for index, layer in enumerate(layers)]
        matting = torch.cat([foregrounds, alphas], dim=1)
        results = []
        for index in range(len(matting)):
            item = matting[index]
            if sizes is not None:
                item = F.interpolate(item[None], size=sizes[index], mode="bilinear", align_corners=False, antialias=False)[0].clamp(0.0, 1.0)
            foreground, alpha, composite = item[:3], item[3:], None
            if layers:
                layer = layers[0] if len(layers) == 1 else layers[index]
                if layer.shape[-2:] != item.shape[-2:]:
                    layer = F.interpolate(layer[None], size=item.shape[-2:], mode="bilinear", align_corners=False, antialias=False)[0]
                blended = (foreground + (1 - alpha) * layer).clamp(0.0, 1.0)
                # torchvision's float-to-uint8 conversion: times 255.999, truncated
                composite = back(blended.mul(255 + 1.0 - 1e-3).to(torch.uint8), numpy_in)
            results.append({"foreground": back(foreground, numpy_in), "alpha": back(alpha, numpy_in), "composite": composite})
        return results


def _background_tensor(layer: Any, dtype: Any, index: int) -> Any:
    """A background image (PIL, HWC array or CHW tensor) as a CHW float tensor in 0..1 (integers divided by their type's maximum)."""
    import torch

    if hasattr(layer, "getbands"):
        layer = np.asarray(layer)
    if isinstance(layer, np.ndarray):
        if layer.ndim not in (2, 3):
            raise InvalidArgumentError(f"backgrounds[{index}] must be (height, width[, channels]), got shape {layer.shape}")
        layer = torch.from_numpy(np.ascontiguousarray(layer if layer.ndim == 3 else layer[:, :, None])).permute(2, 0, 1)
    elif not isinstance(layer, torch.Tensor):
        raise InvalidArgumentError(f"backgrounds[{index}] must be a PIL image, a NumPy array or a torch tensor, got {type(layer).__name__}")
    if layer.ndim == 2:
        layer = layer[None]
    if layer.ndim != 3 or layer.shape[0] not in (1, 3):
        raise InvalidArgumentError(f"backgrounds[{index}] must have 1 or 3 channels, got shape {tuple(layer.shape)}")
    if layer.is_floating_point():
        return layer.to(dtype)
    return layer.to(dtype).mul_(1.0 / torch.iinfo(layer.dtype).max)
