"""PP-Chart2Table parity with transformers 5.23's two classes (a declaration: the common pipeline at 1024x1024).

Every fixture image on both backends is in test_families.py (its default case); here: mixed batches,
call-time options and resolution.
"""

from __future__ import annotations

import pytest
import transformers
from transformers.image_transforms import convert_to_rgb

import pixelprep

BACKENDS = ("torchvision", "pil")
MIXED = ["photo_rgb_640x427.jpg", "tall_rgb_90x1200.jpg", "tiny_rgb_7x5.png", "gray_l_200x131.png", "cmyk_photo_320x213.jpg"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call", [{}, {"size": {"height": 448, "width": 640}}, {"resample": 2}, {"do_normalize": False}, {"do_resize": False, "return_tensors": None}], ids=repr)
def test_mixed_batch_and_call_time_options(backend: str, call: dict, fixture_path, load_image, compare, to_numpy) -> None:
    theirs = getattr(transformers, "PPChart2TableImageProcessor" + ("Pil" if backend == "pil" else ""))()
    call = {"return_tensors": "np", **call}
    images = [load_image(fixture_path(name)) for name in MIXED]
    expected = theirs([convert_to_rgb(image) for image in images], **call)["pixel_values"]
    got = pixelprep.PPChart2TableImageProcessor(backend=backend)([str(fixture_path(name)) for name in MIXED], **call)["pixel_values"]
    compare(got, to_numpy(expected), atol=1e-5, what=f"[{backend}] {call}")


@pytest.mark.parametrize("config", [{"model_type": "pp_chart2table"}, {"image_processor_type": "PPChart2TableImageProcessor"},
                                    {"image_processor_type": "PPChart2TableImageProcessorPil"}, {"image_processor_type": "PPChart2TableImageProcessorFast"}], ids=repr)
def test_resolves_by_class_name_and_model_type(config: dict) -> None:
    processor = pixelprep.AutoImageProcessor.from_config(config)
    assert type(processor) is pixelprep.PPChart2TableImageProcessor and processor.size == {"height": 1024, "width": 1024}
