"""``pixelprep bench``: a quick run of its code paths on tiny photos, and its equality check.

Timings are never asserted (they depend on the machine); what is checked is that every scenario runs,
that each contender is compared with transformers' class of its own backend, and that the reported
differences are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pixelprep import benchmark
from pixelprep.cli import main

IMAGES_DIR = Path(__file__).parent / "fixtures" / "images"
TINY_SIZES = ((320, 240), (96, 64), (64, 48))


@pytest.fixture
def tiny_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CLIP config resizing to 32 pixels, and benchmark photos of a few dozen pixels."""
    monkeypatch.setattr(benchmark, "PHOTO_SIZES", TINY_SIZES)
    config = {
        "image_processor_type": "CLIPImageProcessor",
        "size": {"shortest_edge": 32},
        "crop_size": {"height": 32, "width": 32},
        "do_resize": True,
        "do_center_crop": True,
        "do_rescale": True,
        "do_normalize": True,
        "do_convert_rgb": True,
        "resample": 3,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    }
    path = tmp_path / "preprocessor_config.json"
    path.write_text(json.dumps(config))
    return path


def test_bench_runs_every_input_scenario_and_reports_exact_parity(tiny_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(tiny_clip), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0", "--batch-size", "4"]
    argv += ["--scenario", "pil", "numpy", "torch", "files", "png", "batch", "threads", "--threads", "1,2"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--json", str(out)]
    assert main(argv) == 0
    rows = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "| pixelprep-torchvision | " in printed and "### decoded PIL photos, batch 4" in printed

    by_scenario: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], {})[row["contender"]] = row
    input_tables = [title for title in by_scenario if "batch 4" in title and "thread" not in title]
    assert len(input_tables) == 7  # pil, numpy, torch; files: JPEG, PNG, WebP, mixed (png asked twice, measured once)
    for fmt in ("JPEG", "PNG", "WebP"):
        assert f"{fmt} files on disk, paths in, batch 4" in by_scenario
    assert "JPEG, PNG and WebP files mixed, paths in, batch 4" in by_scenario
    for title in input_tables:
        table = by_scenario[title]
        for backend in ("torchvision", "pil"):
            # exact paths: compared with transformers' class of the same backend, and equal to it
            assert table[f"pixelprep-{backend}"]["max_diff"] == 0, title
            assert table[f"pixelprep-{backend}"]["ratio"] > 0
            assert table[f"transformers-{backend}"]["max_diff"] is None
        for name, row in table.items():
            if "+" in name:  # approximations: compared, and within a few levels of the exact output
                assert 0 <= row["max_diff"] < 0.2, (title, name)
    files = by_scenario["JPEG files on disk, paths in, batch 4"]
    assert files["pixelprep-torchvision +jpeg_draft"]["max_diff"] > 0  # the 320x240 photo decodes at half size
    assert "pixelprep-torchvision +jpeg_draft" not in by_scenario["decoded PIL photos, batch 4"]
    for size in benchmark.BATCH_SIZES:
        assert by_scenario[f"batch size {size}, decoded photos"]["pixelprep-pil"]["max_diff"] == 0
    threads = by_scenario["thread scaling, decoded photos, batch 4"]
    assert {"pixelprep-torchvision threads=1", "pixelprep-pil threads=2"} <= set(threads)
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*.*")) == sorted(
        f"{w}x{h}.{ext}" for w, h in TINY_SIZES for ext in ("jpg", "png", "webp")
    )


def test_open_clip_is_compared_with_transformers_pil(tiny_clip: Path) -> None:
    pytest.importorskip("open_clip", reason="open_clip_torch is an optional contender")
    contenders = {c.name: c for c in benchmark.build_contenders(str(tiny_clip), approximations=False)}
    assert contenders["open_clip"].reference == "transformers-pil"
    inputs = benchmark.cycle(benchmark.photo_variants(str(IMAGES_DIR)), 3)
    chosen = [contenders["transformers-pil"], contenders["open_clip"]]
    benchmark.measure(chosen, inputs, rounds=1)
    assert chosen[1].output.shape == chosen[0].output.shape == (3, 3, 32, 32)


def _contender(name: str, backend: str, output: np.ndarray, calls: list[str] | None = None) -> benchmark.Contender:
    def run(inputs: list) -> np.ndarray:
        if calls is not None:
            calls.append(name)
        return output

    return benchmark.Contender(name, backend, run)


def test_report_shows_the_real_differences_and_ratios(capsys: pytest.CaptureFixture) -> None:
    reference = np.zeros((2, 3, 4, 4), np.float32)
    off = reference.copy()
    off[0, 1, 2, 3] = 0.5
    contenders = [
        _contender("transformers-pil", "pil", reference),
        _contender("pixelprep-pil", "pil", off),
        _contender("wrong-shape", "pil", np.zeros((2, 3, 4, 5), np.float32)),
    ]
    for contender, seconds in zip(contenders, (4.0, 1.0, 2.0)):
        contender.times, contender.output = [seconds, seconds * 1.5, seconds / 2], contender.run([])
    rows = {row["contender"]: row for row in benchmark.report("synthetic", contenders, 2)}
    assert rows["pixelprep-pil"]["max_diff"] == 0.5
    assert rows["pixelprep-pil"]["mean_diff"] == pytest.approx(0.5 / reference.size)
    assert rows["pixelprep-pil"]["ratio"] == pytest.approx(4.0)
    assert rows["pixelprep-pil"]["images_per_s"] == pytest.approx(2.0)
    assert np.isnan(rows["wrong-shape"]["max_diff"])  # a shape mismatch is shown, never skipped
    assert rows["transformers-pil"]["ratio"] is None and rows["transformers-pil"]["max_diff"] is None
    assert "| pixelprep-pil | 2.0 | 4.00x | 5.00e-01 |" in capsys.readouterr().out


def test_measure_alternates_contenders_and_keeps_the_first_output() -> None:
    calls: list[str] = []
    first, second = (_contender(n, "pil", np.full(1, i, np.float32), calls) for i, n in enumerate(("a", "b")))
    benchmark.measure([first, second], inputs=[1, 2, 3], rounds=3)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-ups, then the order rotates each round
    assert len(first.times) == len(second.times) == 3
    assert first.output[0] == 0 and second.output[0] == 1


def test_measure_repeats_calls_until_a_round_lasts_min_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(benchmark.time, "perf_counter", lambda: clock[0])

    def slow(seconds: float, calls: list[str], name: str) -> benchmark.Contender:
        def run(inputs: list) -> np.ndarray:
            calls.append(name)
            clock[0] += seconds
            return np.full(1, seconds, np.float32)

        return benchmark.Contender(name, "pil", run)

    calls: list[str] = []
    quick, long = slow(0.3, calls, "quick"), slow(2.0, calls, "long")
    benchmark.measure([quick, long], inputs=[1, 2, 3], rounds=2, min_seconds=1.0)
    # per round: quick runs until 1 s has passed (4 calls of 0.3 s), long once; time = mean per call
    assert calls.count("quick") == 1 + 2 * 4 and calls.count("long") == 1 + 2
    assert quick.times == pytest.approx([0.3, 0.3]) and long.times == pytest.approx([2.0, 2.0])
    assert quick.output[0] == pytest.approx(0.3)


def test_memory_probe_reports_peak_growth(tiny_clip: Path, tmp_path: Path) -> None:
    variants = benchmark.photo_variants(str(IMAGES_DIR))
    paths = benchmark.scenario_inputs("jpeg", variants, 6, str(tmp_path))
    row = benchmark.memory_probe(str(tiny_clip), "pixelprep-pil", paths)
    assert row["peak_growth_mb"] >= 0 and row["peak_rss_mb"] > 0


def test_mixed_files_cover_every_format_at_every_size(tmp_path: Path) -> None:
    variants = benchmark.photo_variants(str(IMAGES_DIR))
    mixed = benchmark.scenario_inputs("mixed", variants, 9, str(tmp_path))
    assert len(set(mixed)) == 9 and {Path(p).suffix for p in mixed[:3]} == {".jpg", ".png", ".webp"}
    assert len({Path(p).stem for p in mixed[:3]}) == 3  # three sizes among any three in a row
    assert benchmark.scenario_inputs("png", variants, 3, str(tmp_path)) == benchmark.photo_files(variants, str(tmp_path), "png")


def test_photo_sources_need_real_photos(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no RGB JPEG/PNG photo"):
        benchmark.photo_sources(str(tmp_path))
    with pytest.raises(SystemExit, match="not a folder"):
        benchmark.photo_sources(str(tmp_path / "missing"))


def test_unknown_scenario_is_a_usage_error(tiny_clip: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--model", str(tiny_clip), "--scenario", "nope"]) == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_detr_scenario_compares_pixel_values_and_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(benchmark, "PHOTO_SIZES", TINY_SIZES)
    detr = tmp_path / "detr"
    detr.mkdir()
    config = json.loads((Path(__file__).parent.parent / "examples" / "detr-resnet-50" / "preprocessor_config.json").read_text())
    config["size"] = {"shortest_edge": 32, "longest_edge": 48}
    (detr / "preprocessor_config.json").write_text(json.dumps(config))
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(detr), "--detr-model", str(detr), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0"]
    assert main([*argv, "--scenario", "detr", "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())}
    assert rows["pixelprep-torchvision"]["max_diff"] == 0 and rows["pixelprep-pil"]["max_diff"] == 0
    assert "differences cover pixel_values and pixel_mask" in capsys.readouterr().out
    # the mask is compared by name: a wrong mask would show as a difference of 1
    contenders = {c.name: c for c in benchmark.build_contenders(str(detr), approximations=False, open_clip=False)}
    photos = benchmark.cycle(benchmark.photo_variants(str(IMAGES_DIR)), benchmark.DETR_BATCH)
    output = contenders["pixelprep-pil"].run(photos)
    assert output.keys() == {"pixel_values", "pixel_mask"} and set(np.unique(output["pixel_mask"])) == {0, 1}
    flipped = {**output, "pixel_mask": 1 - output["pixel_mask"]}
    assert benchmark._difference(flipped, output)[0] == 1.0


def test_qwen2vl_scenario_compares_patches_and_grids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(benchmark, "PHOTO_SIZES", TINY_SIZES)
    monkeypatch.setattr(benchmark, "DOCUMENT_SIZE", (85, 110))
    qwen = tmp_path / "qwen"
    qwen.mkdir()
    config = json.loads((Path(__file__).parent.parent / "examples" / "qwen2.5-vl-7b-instruct" / "preprocessor_config.json").read_text())
    assert config["max_pixels"] == 12845056  # the model's real budget; shrunk here to keep the test fast
    config["max_pixels"] = 20_000
    (qwen / "preprocessor_config.json").write_text(json.dumps(config))
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(qwen), "--qwen-model", str(qwen), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0"]
    assert main([*argv, "--scenario", "qwen2vl", "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())}
    assert rows["pixelprep-torchvision"]["max_diff"] == 0 and rows["pixelprep-pil"]["max_diff"] == 0
    assert "differences cover pixel_values and image_grid_thw" in capsys.readouterr().out
    # a wrong grid is a difference even when the patch rows agree
    assert np.isnan(benchmark._difference({"a": np.zeros(2)}, {"b": np.zeros(2)})[0])
    assert benchmark._difference({"p": np.zeros(2), "g": np.array([1, 2])}, {"p": np.zeros(2), "g": np.array([1, 3])})[0] == 1


def test_pipeline_scenario_compares_transformers_pipeline_plain_and_patched(tiny_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(tiny_clip), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0", "--batch-size", "3"]
    assert main([*argv, "--scenario", "pipeline", "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"transformers-torchvision", "pixelprep-torchvision (patched pipeline)"}
    patched = rows["pixelprep-torchvision (patched pipeline)"]
    assert patched["max_diff"] == 0 and patched["ratio"] > 0  # the same class scores, and a speed ratio reported
    assert "differences cover the class scores" in capsys.readouterr().out
    from pixelprep.transformers_compat import is_patched

    assert not is_patched()  # the scenario leaves transformers as it found it


def test_smolvlm_scenario_compares_views_and_masks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(benchmark, "PHOTO_SIZES", TINY_SIZES)
    monkeypatch.setattr(benchmark, "DOCUMENT_SIZE", (85, 110))
    smolvlm = tmp_path / "smolvlm"
    smolvlm.mkdir()
    config = json.loads((Path(__file__).parent.parent / "examples" / "smolvlm2-2.2b-instruct" / "preprocessor_config.json").read_text())
    assert (config["size"], config["max_image_size"], config["resample"]) == ({"longest_edge": 1536}, {"longest_edge": 384}, 1)
    config["size"], config["max_image_size"] = {"longest_edge": 192}, {"longest_edge": 64}  # shrunk to keep the test fast
    (smolvlm / "preprocessor_config.json").write_text(json.dumps(config))
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(smolvlm), "--smolvlm-model", str(smolvlm), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0"]
    assert main([*argv, "--scenario", "smolvlm", "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())}
    assert rows["pixelprep-torchvision"]["max_diff"] == 0 and rows["pixelprep-pil"]["max_diff"] == 0
    assert "differences cover pixel_values and pixel_attention_mask" in capsys.readouterr().out
    # one sample per image, padded to the most views: the mask is compared by name, and is 0 on the padded view slots
    contenders = {c.name: c for c in benchmark.build_contenders(str(smolvlm), approximations=False, open_clip=False)}
    output = contenders["pixelprep-pil"].run([[image] for image in benchmark.photo_variants(str(IMAGES_DIR))])
    assert set(output) == {"pixel_values", "pixel_attention_mask"} and output["pixel_attention_mask"].shape[0] == len(TINY_SIZES)
    assert set(np.unique(output["pixel_attention_mask"])) <= {0, 1}


@pytest.mark.parametrize(
    ("scenario", "shrink", "compared"),
    [
        (
            "llava_next",
            {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}, "image_grid_pinpoints": [[32, 64], [64, 32], [64, 64], [96, 32], [32, 96]]},
            {"pixel_values", "image_sizes"},
        ),
        ("internvl", {"size": {"height": 32, "width": 32}}, {"pixel_values", "num_patches"}),
    ],
)
def test_tiling_scenarios_compare_every_output(
    scenario: str, shrink: dict, compared: set, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(benchmark, "PHOTO_SIZES", TINY_SIZES)
    monkeypatch.setattr(benchmark, "DOCUMENT_SIZE", (85, 110))
    spec = benchmark.MODEL_SCENARIOS[scenario]
    config = json.loads((Path(__file__).parent.parent / spec.default / "preprocessor_config.json").read_text())
    config.update(shrink)  # the model's tile sizes, shrunk to keep the test fast
    folder = tmp_path / scenario
    folder.mkdir()
    (folder / "preprocessor_config.json").write_text(json.dumps(config))
    out = tmp_path / "rows.json"
    argv = ["bench", "--model", str(folder), spec.option, str(folder), "--images", str(IMAGES_DIR), "--rounds", "1", "--min-round-seconds", "0"]
    assert main([*argv, "--scenario", scenario, "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())}
    assert rows["pixelprep-torchvision"]["max_diff"] == 0 and rows["pixelprep-pil"]["max_diff"] == 0
    assert f"differences cover {' and '.join(sorted(compared, key=lambda k: k != 'pixel_values'))}" in capsys.readouterr().out
    contenders = {c.name: c for c in benchmark.build_contenders(str(folder), approximations=False, open_clip=False, call_kwargs=dict(spec.call_kwargs))}
    output = contenders["pixelprep-pil"].run(benchmark.photo_variants(str(IMAGES_DIR)))
    assert set(output) == compared
    if scenario == "internvl":  # tiling is on at call time, as InternVLProcessor asks: some photo gets more than one tile
        assert output["num_patches"].max() > 1
