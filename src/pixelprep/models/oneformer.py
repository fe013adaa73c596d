"""OneFormer: MaskFormer's resize, padded batch and pixel mask, plus task inputs ("the task is panoptic"); with segmentation
maps, per-image ``mask_labels``/``class_labels`` and the ``text_inputs`` prompts built from the dataset's class metadata.

Post-processing is MaskFormer's (semantic, panoptic); instance segmentation follows OneFormer's own rule (top
(query, class) pairs, ``is_demo`` thresholding, thing classes only for the panoptic task).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..auto import register_family
from ..errors import ConfigError, InvalidArgumentError
from ..features import BatchFeature
from ..inputs import flatten_inputs
from ..params import COMMON_PARAMS
from ..segmentation import back, size_list, split_label_maps, transform_label_maps
from .maskformer import _MaskFormerBase, binary_masks, panoptic_segments, segmentation_to_rle

TASKS = ("semantic", "instance", "panoptic")


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise InvalidArgumentError(f"{name} must be a path or hub id (a string), got {value!r}")
    return None if value is None else str(value)


def load_class_info(repo_path: str | None, class_info_file: str) -> dict[str, Any]:
    """The class metadata JSON (id -> {"name", "isthing"}): a local file under ``repo_path``, else from the hub (a dataset repo, then a model repo)."""
    path = os.path.join(repo_path or "", class_info_file)
    if not os.path.isfile(path):
        if repo_path is None:
            raise ConfigError(f"class_info_file {path} does not exist and repo_path is not set")
        from huggingface_hub import hf_hub_download

        try:
            try:
                path = hf_hub_download(repo_path, class_info_file, repo_type="dataset")
            except Exception:  # noqa: BLE001 - transformers falls back to a model repo for any dataset failure too
                path = hf_hub_download(repo_path, class_info_file)
        except Exception as error:  # noqa: BLE001 - every hub failure becomes our error naming the file
            raise ConfigError(f"cannot load OneFormer's class_info_file {class_info_file} from {repo_path}: {error}") from error
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
        names = {str(key): entry["name"] for key, entry in info.items()}
        things = [int(key) for key, entry in info.items() if entry["isthing"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"class_info_file {path} must map class ids to {{'name', 'isthing'}}: {error}") from error
    return {**names, "thing_ids": things, "class_names": list(names.values())}


@register_family
class OneFormerImageProcessor(_MaskFormerBase):
    """OneFormer: ``proc(images, task_inputs=["semantic"], segmentation_maps=...)``."""

    transformers_class = "OneFormerImageProcessor"
    model_types = ("oneformer",)
    defaults = {
        "size_divisor": None,
        "do_convert_rgb": True,
        "repo_path": "shi-labs/oneformer_demo",
        "class_info_file": None,
        "num_text": None,
    }
    extra_params = {"repo_path": _optional_text, "class_info_file": _optional_text, "num_text": COMMON_PARAMS["size_divisor"]}
    model_input_names = ["pixel_values", "pixel_mask", "task_inputs"]
    segments_antialias = True

    def pads_batch(self, params: dict[str, Any]) -> bool:
        """Always: the batch is padded to its largest image (with a pixel mask), whatever ``do_pad`` says."""
        return True

    @property
    def metadata(self) -> dict[str, Any]:
        """The class names and thing ids of ``class_info_file`` (loaded on first use)."""
        cached = self.__dict__.get("_metadata")
        key = (self.repo_path, self.class_info_file)
        if cached is None or cached[0] != key:
            if not self.class_info_file:
                raise ConfigError("this needs OneFormer's class metadata: set class_info_file (and repo_path)")
            cached = (key, load_class_info(*key))
            object.__setattr__(self, "_metadata", cached)
        return cached[1]

    def __call__(self, images: Any, task_inputs: Any = None, segmentation_maps: Any = None, instance_id_to_semantic_id: Any = None, **kwargs: Any) -> BatchFeature:
        """Preprocess images with their tasks (default ``["panoptic"]``); with segmentation maps also the training targets."""
        return self.preprocess(images, task_inputs, segmentation_maps, instance_id_to_semantic_id, **kwargs)

    def preprocess(self, images: Any, task_inputs: Any = None, segmentation_maps: Any = None, instance_id_to_semantic_id: Any = None, **kwargs: Any) -> BatchFeature:
        """Same as calling the processor."""
        tasks = ["panoptic"] if task_inputs is None else [task_inputs] if isinstance(task_inputs, str) else list(task_inputs)
        params = self.resolve(kwargs)
        backend = self._backend_for(params.get("device"))
        features = self.finalize(self.process_images(images, params, backend), params, backend)
        if segmentation_maps is not None:
            count = len(flatten_inputs(images))
            if len(tasks) < count:
                raise InvalidArgumentError(f"got {len(tasks)} task_inputs for {count} images with segmentation maps: pass one task per image")
            maps = transform_label_maps(split_label_maps(segmentation_maps, count), self.label_steps(params), backend)
            if len(maps) != count:
                raise InvalidArgumentError(f"got {len(maps)} segmentation maps for {count} images")
            targets = self._targets(maps, tasks, instance_id_to_semantic_id, params, tuple(int(v) for v in features["pixel_mask"][0].shape))
            convert = backend.to_torch if params.get("return_tensors") == "pt" else backend.from_canonical
            features["mask_labels"] = [convert(masks) for masks, _, _ in targets]
            features["class_labels"] = [convert(classes) for _, classes, _ in targets]
            features["text_inputs"] = [texts for _, _, texts in targets]
        features["task_inputs"] = [f"the task is {task}" for task in tasks]
        return features

    def _targets(self, maps: list[np.ndarray], tasks: list[str], mapping: Any, params: dict[str, Any], canvas: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray, list[str]]]:
        """(padded masks, classes, text prompts) per image; class counts run on across the batch, as in transformers."""
        metadata, num_text = self.metadata, params.get("num_text")
        if not num_text:
            raise InvalidArgumentError("segmentation maps need num_text (the number of text prompts per image)")
        ignore_index = params.get("ignore_index")
        counts = dict.fromkeys(metadata["class_names"], 0)
        results = []
        for index, (label_map, task) in enumerate(zip(maps, tasks)):
            if task not in TASKS:
                raise InvalidArgumentError(f"task_inputs[{index}] is {task!r}: expected one of {list(TASKS)}")
            image_mapping = mapping[index] if isinstance(mapping, list) else mapping
            masks, classes = binary_masks(label_map, image_mapping, ignore_index, bool(params.get("do_reduce_labels")))
            kept_masks, kept_classes = [], []
            for mask, class_id in zip(masks, classes.tolist()):
                if not mask.any() or (task == "instance" and class_id not in metadata["thing_ids"]):
                    continue
                if task == "semantic" and class_id in kept_classes:  # one mask per class: instances merged
                    position = kept_classes.index(class_id)
                    kept_masks[position] = np.clip(kept_masks[position] + mask, 0, 1)
                    continue
                name = metadata.get(str(class_id))
                if name is None:
                    raise InvalidArgumentError(f"segmentation map {index} has class {class_id}, which class_info_file does not name")
                counts[name] += 1
                kept_masks.append(mask)
                kept_classes.append(class_id)
            if not kept_masks:
                raise InvalidArgumentError(f"segmentation map {index} has no {task} segment to learn from")
            texts = [f"a photo with a {name}" for name in metadata["class_names"] for _ in range(counts[name])][:num_text]
            texts += [f"{'an' if task != 'semantic' else 'a'} {task} photo"] * (num_text - len(texts))
            padded = np.full((len(kept_masks), *canvas), 0 if ignore_index is None else ignore_index, np.float32)
            padded[:, : label_map.shape[0], : label_map.shape[1]] = np.stack(kept_masks)
            results.append((padded, np.asarray(kept_classes, np.int64), texts))
        return results

    def convert_segmentation_map_to_binary_masks(
        self, segmentation_map: Any, instance_id_to_semantic_id: dict[int, int] | None = None, ignore_index: int | None = None, do_reduce_labels: bool = False
    ) -> tuple[Any, Any]:
        """(one float mask per label present, each mask's class id) of a label map, as transformers' method of the same name."""
        from ..segmentation import load_label_map

        masks, classes = binary_masks(load_label_map(segmentation_map), instance_id_to_semantic_id, ignore_index, do_reduce_labels)
        if hasattr(segmentation_map, "detach"):
            import torch

            return torch.from_numpy(masks).to(segmentation_map.device), torch.from_numpy(classes).to(segmentation_map.device)
        return masks, classes

    def post_process_semantic_segmentation(self, outputs: Any, target_sizes: Any = None, return_segmentation_scores: bool = False) -> list[Any]:
        """Per-pixel class ids from class-weighted mask probabilities, resized bilinearly to each target size first
        (antialiased on the torchvision backend, as transformers' torchvision class resizes; not on pil, as its pil class)."""
        import torch
        import torch.nn.functional as F

        classes, masks, numpy_in = self._queries(outputs)
        scores = torch.einsum("bqc,bqhw->bchw", classes.softmax(dim=-1)[..., :-1], masks.sigmoid())
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(scores):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(scores)}")
        antialias = self.backend_name == "torchvision"
        results = []
        for index, image_scores in enumerate(scores):
            if sizes is not None:
                image_scores = F.interpolate(image_scores[None], size=sizes[index], mode="bilinear", align_corners=False, antialias=antialias)[0]
            segmentation = image_scores.argmax(dim=0)
            if return_segmentation_scores:
                results.append(BatchFeature({"segmentation": back(segmentation, numpy_in), "segmentation_scores": back(image_scores, numpy_in)}))
            else:
                results.append(back(segmentation, numpy_in))
        return results

    def post_process_instance_segmentation(  # type: ignore[override]
        self,
        outputs: Any,
        task_type: str = "instance",
        is_demo: bool = True,
        threshold: float = 0.5,
        mask_threshold: float = 0.5,
        overlap_mask_area_threshold: float = 0.8,
        target_sizes: Any = None,
        return_coco_annotation: bool | None = False,
    ) -> list[dict[str, Any]]:
        """``[{"segmentation", "segments_info"}]`` per image from the top (query, class) pairs (above ``threshold`` when
        ``is_demo``; thing classes only for ``task_type="panoptic"``), each pixel to its best score-weighted mask logit."""
        import torch

        classes, masks, numpy_in = self._queries(outputs)
        sizes = size_list(target_sizes)
        if sizes is not None and len(sizes) != len(classes):
            raise InvalidArgumentError(f"got {len(sizes)} target sizes for a batch of {len(classes)}")
        num_queries, num_classes = classes.shape[-2], classes.shape[-1] - 1
        results = []
        for index in range(len(classes)):
            scores, top = classes[index].softmax(dim=-1)[:, :-1].flatten().topk(num_queries, sorted=False)
            labels = top % num_classes
            logits = masks[index][torch.div(top, num_classes, rounding_mode="floor")]
            keep = scores > threshold if is_demo else torch.ones_like(scores, dtype=torch.bool)
            if task_type == "panoptic":
                things = set(self.metadata["thing_ids"])
                keep &= torch.tensor([label in things for label in labels.tolist()], dtype=torch.bool)
            scores, labels, logits = scores[keep], labels[keep], logits[keep]
            if logits.shape[0] == 0:
                shape = tuple(masks.shape[2:]) if sizes is None else sizes[index]
                results.append({"segmentation": back(torch.zeros(shape) - 1, numpy_in), "segments_info": []})
                continue
            if "ade20k" in (self.class_info_file or "") and not is_demo and "instance" in task_type:
                thing_ids = self.metadata["thing_ids"]
                labels = torch.tensor([thing_ids.index(label) for label in labels.tolist()], dtype=labels.dtype)
            target = None if sizes is None else sizes[index]
            segmentation, segments = panoptic_segments(logits, scores, labels, mask_threshold, overlap_mask_area_threshold, set(), target, antialias=True)
            results.append({"segmentation": segmentation_to_rle(segmentation) if return_coco_annotation else back(segmentation, numpy_in), "segments_info": segments})
        return results
