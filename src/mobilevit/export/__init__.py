"""Export a classifier, a segmenter or a detector to ONNX, TorchScript, OpenVINO (float32, bfloat16
or int8), Core ML (float16 or float32), LiteRT or ExecuTorch (float32 or int8), and run the exported
files in their runtimes as stand-ins for the PyTorch model.

Exports are of the fused model (every BatchNorm folded into its convolution, see ``fuse()``),
taking a float32 (B, 3, H, W) batch named ``image``, preprocessed as the model's zoo record or
config says, and giving its raw outputs: a classifier's (B, num_classes) logits named ``logits``, a
segmenter's (B, num_classes, H, W) logits, a detector's box regression and class logits with its
decoding written beside them (:mod:`.detection`; Core ML: one image, see :mod:`.coreml`). One module
per runtime: :mod:`.onnx`, :mod:`.openvino`, :mod:`.coreml`, :mod:`.tflite`, :mod:`.executorch`,
:mod:`.pt2e` (int8 in PyTorch); the runtimes are optional extras, imported only when used. Each
runtime's ``...Runner`` runs a file: a float batch in, the network's outputs out.
"""

from __future__ import annotations

import copy
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..apis import LogitsFunction, init_model, preprocessing_of
from ..checks import FieldError, image_side
from ..data.transforms import MAX_RESIZE_SHORT
from ..errors import ArgumentError, OutputExistsError, UsageError
from ..models import MobileViTBlock, MobileViTV2Block
from ..names import FORMATS, PRECISIONS, RUNTIME_FORMATS, SUFFIXES
from ..tasks import Task, task_of
from .calibration import CALIBRATION_IMAGES, calibration_images
from .coreml import export_coreml
from .detection import (
    DETECTION_METADATA_KEY,
    DETECTION_OUTPUTS,
    ExportedDetector,
    OnnxDetector,
    export_detector,
    settings_path,
)
from .executorch import ExecuTorchRunner, export_executorch
from .onnx import INPUT_NAME, ONNX_OPSET, OUTPUT_NAME, OnnxRunner, export_onnx
from .openvino import OpenVinoRunner, export_openvino
from .tflite import TFLiteRunner, export_tflite
from .torchscript import TorchScriptRunner, export_torchscript

QUANTIZABLE = ("openvino", "tflite", "executorch")  # the formats ``--quantize int8`` applies to
FIXED_BATCH = ("tflite", "executorch")  # the formats whose files take batches of one size (``batch_size``)
# What turns an exported file of each runtime into a logits function (a (B, 3, H, W) batch to logits).
_RUNNERS: dict[str, Callable[[Path], LogitsFunction]] = {
    "onnxruntime": OnnxRunner,
    "torchscript": TorchScriptRunner,
    "openvino": OpenVinoRunner,
    "tflite": TFLiteRunner,
    "executorch": ExecuTorchRunner,
}
# The runtimes that `mobilevit predict|test --backend NAME` run exported files with: the export
# format each takes, and its runner.
RUNTIMES: dict[str, tuple[str, Callable[[Path], LogitsFunction]]] = {
    name: (export_format, _RUNNERS[name]) for name, export_format in RUNTIME_FORMATS.items()
}

__all__ = [
    "CALIBRATION_IMAGES",
    "DETECTION_METADATA_KEY",
    "DETECTION_OUTPUTS",
    "FIXED_BATCH",
    "FORMATS",
    "INPUT_NAME",
    "ONNX_OPSET",
    "OUTPUT_NAME",
    "PRECISIONS",
    "RUNTIMES",
    "SUFFIXES",
    "ExecuTorchRunner",
    "ExportedDetector",
    "OnnxRunner",
    "OnnxDetector",
    "OpenVinoRunner",
    "TFLiteRunner",
    "TorchScriptRunner",
    "calibration_images",
    "check_options",
    "check_quantize",
    "export_detector",
    "export_from_name",
    "export_model",
    "exported_format",
    "default_output",
    "describe_export",
    "exported_runner",
    "exported_scorer",
    "load_exported",
    "refuse_overwrite",
    "serves_any_size",
    "settings_path",
]


def export_model(
    model: torch.nn.Module,
    path: str | os.PathLike,
    export_format: str = "onnx",
    height: int = 256,
    width: int = 256,
    dynamic: bool = False,
    precision: str | None = None,
    calibration: torch.Tensor | None = None,
    batch_size: int = 1,
    quantize: str | None = None,
) -> Path:
    """Write a fused copy of ``model`` to ``path``; the model itself is left unchanged.

    An ONNX or OpenVINO file takes (B, 3, height, width) batches of any size B; ``dynamic`` lets
    height and width vary too, at the cost of a resize up and back around each MobileViT block's
    transformer (an identity where the sides divide the patch; it is what makes other sides work).
    A TorchScript file is a trace that serves any batch and image size; a Core ML file takes one
    image of the exported size. A LiteRT or ExecuTorch file takes batches of ``batch_size`` images
    of the exported size (:class:`TFLiteRunner` and :class:`ExecuTorchRunner` run larger
    batches in slices). ``precision`` is one of the format's :data:`PRECISIONS` (default the
    first); ``quantize="int8"`` quantizes on ``calibration`` images (preprocessed, see
    :func:`calibration_images`), for OpenVINO, LiteRT and ExecuTorch: the two go together.
    """
    check_quantize(quantize, calibration is not None)
    precision = check_options(export_format, dynamic, precision, quantize is not None, batch_size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fused = copy.deepcopy(model).cpu().float().fuse()
    for module in fused.modules():
        if isinstance(module, (MobileViTBlock, MobileViTV2Block)):
            module.always_resize = serves_any_size(export_format, dynamic)
    example = torch.rand(batch_size, 3, height, width)
    if export_format == "onnx":
        export_onnx(fused, example, path, dynamic)
    elif export_format == "openvino":
        export_openvino(fused, example, path, dynamic, precision, calibration)
    elif export_format == "coreml":
        export_coreml(fused, example, path, preprocessing_of(model), precision)
    elif export_format == "tflite":
        export_tflite(fused, example, path, calibration)
    elif export_format == "executorch":
        export_executorch(fused, example, path, calibration)
    else:
        export_torchscript(fused, example, path)
    return path


def check_options(export_format: str, dynamic: bool, precision: str | None, quantize: bool, batch_size: int = 1) -> str:
    """Refuse options that do not apply to ``export_format``; return the precision (its default if None)."""
    if export_format not in FORMATS:
        raise ArgumentError(
            f"{{export_format}} is unknown; expected one of {', '.join(FORMATS)}", export_format=export_format
        )
    if dynamic and export_format not in ("onnx", "openvino"):
        raise ArgumentError(f"{{dynamic}} applies to ONNX and OpenVINO, not {export_format}", dynamic=True)
    precision = precision or PRECISIONS[export_format][0]
    if precision not in PRECISIONS[export_format]:
        raise ArgumentError(
            f"{{precision}} does not apply to {export_format}; expected one of {', '.join(PRECISIONS[export_format])}",
            precision=precision,
        )
    if quantize and export_format not in QUANTIZABLE:
        raise ArgumentError(f"{{quantize}} applies to {', '.join(QUANTIZABLE)}, not {export_format}", quantize="int8")
    if batch_size != 1 and export_format not in FIXED_BATCH:
        raise ArgumentError(
            f"{{batch_size}} applies to {', '.join(FIXED_BATCH)}, whose files take one batch size; "
            f"a {export_format} file takes any",
            batch_size=batch_size,
        )
    if batch_size < 1:
        raise ArgumentError("{batch_size}: the batch size must be a positive integer", batch_size=batch_size)
    return precision


def check_shape(shape: tuple[int, int]) -> None:
    """Refuse an export size beyond the image sides mobilevit takes, before anything is built."""
    for side in shape:
        try:
            image_side("shape", side, MAX_RESIZE_SHORT)
        except FieldError as error:
            raise ArgumentError(f"the export {{shape}} {error.problem}", shape=tuple(shape)) from None


QUANTIZATIONS = ("int8",)


def check_quantize(quantize: str | None, calibration: bool) -> None:
    """Refuse calibration images without ``quantize`` (they are no wish to quantize) and the reverse."""
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ArgumentError(
            f"{{quantize}} is unknown; expected one of {', '.join(QUANTIZATIONS)} or None", quantize=quantize
        )
    if calibration and quantize is None:
        raise ArgumentError(
            "calibration images are for {quantize}: pass it, or no {calibration}", quantize="int8", calibration=...
        )
    if quantize is not None and not calibration:
        raise ArgumentError(
            "{quantize} needs calibration images: pass {calibration}", quantize=quantize, calibration=...
        )


def serves_any_size(export_format: str, dynamic: bool) -> bool:
    """Whether an export takes any image size (else only the height and width it was exported for)."""
    return dynamic or export_format == "torchscript"


def export_from_name(
    name_or_config: str | os.PathLike | None,
    checkpoint: str | os.PathLike | None,
    export_format: str = "onnx",
    output: str | os.PathLike | None = None,
    shape: tuple[int, int] | None = None,
    dynamic: bool = False,
    cfg_options: Sequence[str] = (),
    precision: str | None = None,
    calibration: str | os.PathLike | None = None,
    batch_size: int = 1,
    quantize: str | None = None,
    force: bool = False,
) -> Path:
    """Build a model as :func:`~mobilevit.apis.init_model` does (a zoo name, a config file or a
    checkpoint that describes its model), load ``checkpoint`` and export it.

    ``output`` defaults to :func:`default_output` (``best-openvino-int8.xml``); an existing file is
    replaced only with ``force=True``. ``shape`` defaults to the model's crop size. ``quantize="int8"``
    quantizes on ``calibration`` (a folder of images, or a config file whose training split is
    used): :data:`CALIBRATION_IMAGES` of its images, prepared as the model's preprocessing says.
    """
    check_quantize(quantize, calibration is not None)
    precision = check_options(export_format, dynamic, precision, quantize is not None, batch_size)
    if shape is not None:
        check_shape(shape)
    if output is None:
        output = default_output(name_or_config or checkpoint, export_format, precision, quantize)
    refuse_overwrite(Path(output), force)
    model = init_model(name_or_config, checkpoint, cfg_options=cfg_options)
    if task_of(model).runner_output == "detections":  # the raw network, its decoding written beside it
        passed = {"dynamic": dynamic or None, "shape": shape, "precision": None, "quantize": quantize}
        if precision != PRECISIONS[export_format][0]:
            passed["precision"] = precision
        passed = {name: value for name, value in passed.items() if value is not None}
        if passed:
            names = ", ".join(f"{{{name}}}" for name in passed)
            raise ArgumentError(f"a detector exports at its own input size only, in float32: drop {names}", **passed)
        return export_detector(model, output, export_format, batch_size)
    settings_path(output).unlink(missing_ok=True)  # a detector's settings, left from an earlier export
    if shape is None:
        crop = model.preprocessing.crop_size
        shape = (crop, crop)
    images = calibration_images(calibration, model.preprocessing) if calibration is not None else None
    return export_model(
        model,
        output,
        export_format,
        *shape,
        dynamic=dynamic,
        precision=precision,
        calibration=images,
        batch_size=batch_size,
        quantize=quantize,
    )


def default_output(source: str | os.PathLike, export_format: str, precision: str, quantize: str | None) -> Path:
    """The file an export writes unless told: the source's name, then what the file is where its
    suffix does not say it (``best-openvino-int8.xml``, ``best-torchscript.pt``, ``best-bf16``)."""
    parts = [Path(source).stem]
    if export_format in ("openvino", "torchscript"):
        parts.append(export_format)
    if precision != PRECISIONS[export_format][0]:
        parts.append(precision)
    if quantize is not None:
        parts.append(quantize)
    return Path("-".join(parts) + SUFFIXES[export_format])


def refuse_overwrite(output: Path, force: bool) -> None:
    """Refuse to replace an existing export (or a detector's settings beside it) unless ``force``."""
    existing = [path for path in (output, settings_path(output)) if path.exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{existing[0]} exists: pass {{force}} to replace it, or another {{output}}", force=True, output=...
        )


def exported_format(path: str | os.PathLike) -> str | None:
    """The export format of a file ('onnx', 'torchscript', 'openvino', 'coreml', 'tflite',
    'executorch'), from its name or content; None for anything else, such as a checkpoint."""
    path = Path(path)
    for export_format in ("onnx", "openvino", "coreml", "tflite", "executorch"):
        if path.suffix == SUFFIXES[export_format]:
            return export_format
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:  # a TorchScript archive holds the model's code
            if any(name.endswith("/constants.pkl") or "/code/" in name for name in archive.namelist()):
                return "torchscript"
    return None


def load_exported(backend: str, path: str | os.PathLike) -> LogitsFunction:
    """The logits function of an exported file run by ``backend`` (a key of :data:`RUNTIMES`)."""
    if backend not in RUNTIMES:
        raise ArgumentError(f"{{backend}} is unknown; expected one of {', '.join(RUNTIMES)}", backend=backend)
    export_format, runtime = RUNTIMES[backend]
    if exported_format(path) != export_format:
        raise ArgumentError(
            f"{{backend}} runs an exported {export_format} model: pass a FILE{SUFFIXES[export_format]} "
            f"(see `mobilevit export --format {export_format}`), got {path}",
            backend=backend,
        )
    return runtime(Path(path))


def exported_runner(backend: str, path: str | os.PathLike) -> Callable:
    """What runs an exported file for predict: a detector's file (its decoding beside it) gives
    decoded detections of a list of images, any other file logits of a batch. The runner's
    ``output_kind`` says which (``Task.runner_output`` is what a task's predict takes)."""
    export_format = RUNTIMES[backend][0] if backend in RUNTIMES else None
    if export_format is not None and exported_format(path) == export_format and _is_detector_file(path, export_format):
        if export_format == "torchscript":
            raise UsageError(f"{path}: TorchScript files hold classifiers and segmenters; detectors export to others")
        return OnnxDetector(path) if export_format == "onnx" else ExportedDetector(path, export_format)
    return load_exported(backend, path)


def _is_detector_file(path: str | os.PathLike, export_format: str) -> bool:
    if export_format != "onnx":
        return settings_path(path).is_file()
    import onnx

    graph = onnx.load(str(path), load_external_data=False)
    return any(entry.key == DETECTION_METADATA_KEY for entry in graph.metadata_props)


def describe_export(
    path: Path,
    export_format: str,
    precision: str | None = None,
    quantize: str | None = None,
    dynamic: bool = False,
    batch_size: int = 1,
) -> str:
    """What an export wrote, for a person: the files, precision, input and outputs, and the sizes it takes."""
    if export_format == "onnx" and _is_detector_file(path, "onnx"):
        return (
            f"{path} (onnx, fused, input 'image' float32 (B, 3, S, S) resized -> 'bbox_regression', "
            "'cls_logits'; decode with mobilevit.export.OnnxDetector)"
        )
    if settings_path(path).is_file():
        return (
            f"{path} and {settings_path(path)} ({export_format}, fused, input float32 (B, 3, S, S) resized -> "
            "box regression and class logits side by side; decode with mobilevit.export.ExportedDetector)"
        )
    sizes = (
        "any batch and image size"
        if serves_any_size(export_format, dynamic)
        else f"batches of {batch_size} at the exported height and width"
        if export_format in FIXED_BATCH
        else "any batch size at the exported height and width"
    )
    precision = precision or PRECISIONS[export_format][0]
    if quantize:
        precision = f"{quantize} weights and activations ({precision} elsewhere)"
    if export_format == "coreml":
        return (
            f"{path} (Core ML ML program, {precision}, fused, input 'image' a BGR or RGB image as the "
            f"model's preprocessing says, of the exported height and width -> 'logits'; predictions need macOS)"
        )
    return f"{path} ({export_format}, {precision}, fused, input 'image' float32 (B, 3, H, W) -> 'logits'; {sizes})"


def exported_scorer(
    backend: str, path: str | os.PathLike, task: Task, channel_order: str | None = None
) -> Callable[[torch.Tensor], Any]:
    """What scores an exported file for ``mobilevit test`` of ``task``: a detector's raw outputs
    (decoded by the task's evaluator) or logits; a file of another task is refused, naming it, and
    so is a file that records another input channel order than ``channel_order`` (the config's)."""
    run = exported_runner(backend, path)
    kind = getattr(run, "output_kind", "logits")
    if kind != task.runner_output:
        raise UsageError(
            f"{path} gives {kind}, and the config's task is {task.name}, whose evaluation takes "
            f"{task.runner_output}: test a file exported from a {task.name} model"
        )
    recorded = getattr(run, "channel_order", None)
    if channel_order is not None and recorded is not None and recorded != channel_order:
        raise UsageError(
            f"{path} takes {recorded} images and the config's data.preprocessing.channel_order is {channel_order}: "
            f"test it with --cfg-options data.preprocessing.channel_order={recorded}, or the config it was exported from"
        )
    if hasattr(run, "checked_outputs"):  # a detector: its raw outputs, as the model's own in testing
        return run.checked_outputs
    dimensions = 4 if task.spatial_output else 2

    def logits(batch: torch.Tensor) -> torch.Tensor:
        output = run(batch)
        if output.dim() != dimensions:
            shape = "(B, classes, H, W)" if task.spatial_output else "(B, classes)"
            raise UsageError(
                f"{path} gives outputs of shape {tuple(output.shape)}, and the config's task is {task.name}, "
                f"whose model gives {shape}: test a file exported from a {task.name} model"
            )
        return output

    return logits
