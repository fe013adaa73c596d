"""BatchFeature: attribute access, tensor conversion, stacking errors, and ``.to`` casting and moving."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from pixelprep import BatchFeature, InvalidArgumentError, OutputShapeError, ViTImageProcessor


def _feature() -> BatchFeature:
    return BatchFeature(
        {
            "pixel_values": np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5),
            "pixel_mask": np.ones((2, 4, 5), np.int64),
            "input_ids": np.arange(6, dtype=np.int64).reshape(2, 3),
        }
    )


def test_attribute_and_dict_access() -> None:
    feature = _feature()
    assert feature.pixel_values is feature["pixel_values"]
    assert set(feature) == {"pixel_values", "pixel_mask", "input_ids"} and "pixel_mask" in feature
    assert len(feature) == 3
    with pytest.raises(AttributeError, match="pixel_values"):  # the message lists the keys there are
        feature.labels
    with pytest.raises(KeyError):
        feature["labels"]
    feature["labels"] = [1, 2]
    assert feature.labels == [1, 2]


def test_convert_to_tensors() -> None:
    feature = _feature()
    reference = {key: value.copy() for key, value in feature.items()}
    assert feature.convert_to_tensors(None) is feature
    assert all(isinstance(v, np.ndarray) for v in feature.values())
    assert feature.convert_to_tensors("pt") is feature
    for key, value in feature.items():
        assert isinstance(value, torch.Tensor)
        np.testing.assert_array_equal(value.numpy(), reference[key])
    assert feature["pixel_mask"].dtype == torch.int64 and feature["pixel_values"].dtype == torch.float32
    feature.convert_to_tensors("np")
    for key, value in feature.items():
        assert isinstance(value, np.ndarray) and value.dtype == reference[key].dtype
        np.testing.assert_array_equal(value, reference[key])
    with pytest.raises(InvalidArgumentError, match="return_tensors"):
        feature.convert_to_tensors("tf")


def test_convert_accepts_transformers_tensor_type_and_the_constructor_argument() -> None:
    from transformers.utils import TensorType

    feature = BatchFeature({"pixel_values": np.zeros((1, 3, 2, 2), np.float32)}, tensor_type=TensorType.PYTORCH)
    assert isinstance(feature.pixel_values, torch.Tensor)
    feature.convert_to_tensors(TensorType.NUMPY)
    assert isinstance(feature.pixel_values, np.ndarray)


def test_lists_stack_and_other_values_are_left_alone() -> None:
    images = [np.full((3, 4, 5), i, np.float32) for i in range(3)]
    feature = BatchFeature({"pixel_values": images, "name": "batch", "nothing": None, "sizes": {"a": 1}}, tensor_type="pt")
    assert feature.pixel_values.shape == (3, 3, 4, 5)
    assert [float(feature.pixel_values[i, 0, 0, 0]) for i in range(3)] == [0.0, 1.0, 2.0]
    assert feature.name == "batch" and feature.nothing is None and feature.sizes == {"a": 1}
    tensors = BatchFeature({"pixel_values": [torch.zeros(3, 4, 5), torch.ones(3, 4, 5)]}, tensor_type="np")
    assert isinstance(tensors.pixel_values, np.ndarray) and tensors.pixel_values.shape == (2, 3, 4, 5)


@pytest.mark.parametrize("tensor_type", ["pt", "np"])
@pytest.mark.parametrize("make", [np.zeros, torch.zeros], ids=["numpy", "torch"])
def test_ragged_shapes_cannot_stack(tensor_type: str, make) -> None:
    ragged = [make((3, 4, 5)), make((3, 4, 6))]
    with pytest.raises(OutputShapeError) as info:
        BatchFeature({"pixel_values": ragged}, tensor_type=tensor_type)
    assert isinstance(info.value, ValueError)
    assert "(3, 4, 5)" in str(info.value) and "(3, 4, 6)" in str(info.value)
    assert "return_tensors=None" in str(info.value)  # and says how to get the list instead


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
def test_processor_output_of_ragged_sizes(backend: str) -> None:
    processor = ViTImageProcessor(backend=backend, do_resize=False)
    images = [np.zeros((20, 30, 3), np.uint8), np.zeros((25, 30, 3), np.uint8)]
    listed = processor(images)["pixel_values"]
    assert isinstance(listed, list) and [tuple(v.shape) for v in listed] == [(3, 20, 30), (3, 25, 30)]
    with pytest.raises(OutputShapeError):
        processor(images, return_tensors="pt")
    # Padding makes them stackable, with a mask of where each image is.
    padded = processor(images, do_pad=True, return_pixel_mask=True, return_tensors="pt")
    assert padded.pixel_values.shape == (2, 3, 25, 30)
    assert padded.pixel_mask.dtype == torch.int64 and padded.pixel_mask.sum(dim=(1, 2)).tolist() == [600, 750]


def test_to_dtype_casts_floats_only() -> None:
    feature = _feature().convert_to_tensors("pt")
    reference = feature.pixel_values.clone()
    assert feature.to(torch.float16) is feature
    assert feature.pixel_values.dtype == torch.float16
    torch.testing.assert_close(feature.pixel_values.float(), reference, rtol=1e-3, atol=0)
    assert feature.pixel_mask.dtype == torch.int64 and feature.input_ids.dtype == torch.int64
    feature.to(dtype=torch.bfloat16)
    assert feature.pixel_values.dtype == torch.bfloat16 and feature.input_ids.dtype == torch.int64


def test_to_device_non_blocking() -> None:
    feature = _feature().convert_to_tensors("pt")
    feature["name"] = "batch"
    moved = feature.to("cpu", non_blocking=True)
    assert moved is feature and feature.name == "batch"
    assert all(v.device.type == "cpu" for k, v in feature.items() if k != "name")
    feature.to(torch.device("cpu"), torch.float64)
    assert feature.pixel_values.dtype == torch.float64 and feature.pixel_mask.dtype == torch.int64
    feature.to(device="cpu", dtype=torch.float32, non_blocking=True)
    assert feature.pixel_values.dtype == torch.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_to_cuda_moves_every_tensor() -> None:
    feature = _feature().convert_to_tensors("pt").to("cuda", torch.float16, non_blocking=True)
    assert all(v.device.type == "cuda" for v in feature.values())
    assert feature.pixel_values.dtype == torch.float16 and feature.pixel_mask.dtype == torch.int64


def test_pickle_round_trip() -> None:
    feature = _feature().convert_to_tensors("pt")
    clone = pickle.loads(pickle.dumps(feature))
    assert isinstance(clone, BatchFeature) and set(clone) == set(feature)
    for key in feature:
        assert torch.equal(clone[key], feature[key])


class _FakeArray:
    """What a stand-in ``jnp.asarray`` / ``mx.array`` returns: the NumPy array it was given."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


@pytest.mark.parametrize(("tensor_type", "module", "function"), [("jax", "jax.numpy", "asarray"), ("mlx", "mlx.core", "array")])
def test_jax_and_mlx_get_every_value_as_one_stacked_array(tensor_type: str, module: str, function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither package is installed here: stand-in modules check what pixelprep hands them."""
    import sys
    import types

    parent, child = module.split(".")
    fake = types.ModuleType(module)
    setattr(fake, function, _FakeArray)
    monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    monkeypatch.setitem(sys.modules, module, fake)
    feature = _feature()
    feature["pixel_values"] = [torch.zeros(3, 4, 5), torch.ones(3, 4, 5)]  # a list of tensors is stacked first
    feature.convert_to_tensors(tensor_type)
    assert isinstance(feature["pixel_values"], _FakeArray) and feature["pixel_values"].array.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(feature["input_ids"].array, np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("tensor_type", ["jax", "mlx"])
def test_a_missing_tensor_package_is_named(tensor_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, tensor_type, None)  # import fails as if it were not installed
    from pixelprep import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match=f"needs the {tensor_type} package"):
        _feature().convert_to_tensors(tensor_type)
