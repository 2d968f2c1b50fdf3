"""The ``mobilevit`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from . import __version__, zoo
from .analysis import measure_complexity
from .apis import (
    LogitsFunction,
    checkpoint_config,
    checkpoint_preprocessing,
    describe_detections,
    describe_predictions,
    detect_objects,
    detection_input,
    draw_detections,
    init_model,
    is_config_file,
    overlay_mask,
    prepare_batch,
    segment,
    torch_logits,
)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .config import Config, load_config, shipped_configs
from .convert import infer_arch, num_classes_of, task_of
from .data.datasets import IMAGE_EXTENSIONS
from .data.image import read_image
from .data.segmentation import save_palette_mask
from .data.transforms import Preprocessing
from .download import local_path_advice
from .export import (
    FIXED_BATCH,
    FORMATS,
    PRECISIONS,
    RUNTIMES,
    SUFFIXES,
    ExportedDetector,
    OnnxDetector,
    export_from_name,
    exported_format,
    load_exported,
    serves_any_size,
    settings_path,
)
from .models import ARCHS, DeepLabV3, ImageClassifier, SSDLite, build_classifier, build_segmenter

# What a user's input can cause: every error class of mobilevit derives from one of these (ConfigError,
# CheckpointError and ImageReadError from ValueError, DownloadError from OSError); FloatingPointError
# is a diverged loss. Each ends as one line and exit status 2.
USER_ERRORS = (ValueError, OSError, ImportError, FloatingPointError)
# Where each command takes a local file in place of a URL that cannot be downloaded ({path}: the file).
LOCAL_PATH_ADVICE = {
    "predict": "pass --checkpoint {path}",
    "export": "pass --checkpoint {path}",
    "test": "pass {path} as CHECKPOINT",
    "convert": "pass {path} as SRC",
    "flops": "pass {path} as MODEL",
}


def _list(args: argparse.Namespace) -> None:
    if args.configs:
        _list_configs()
        return
    print(f"{'model':<41} {'arch':<9} {'params (M)':>10} {'FLOPs (G)':>9}  published")
    for name in zoo.list_models():
        record = zoo.get_record(name)
        print(f"{name:<41} {record.arch:<9} {record.params_m:>10.2f} {record.flops_g:>9.2f}  {_published(record)}")


def _published(record: zoo.ZooModel) -> str:
    """A zoo record's published figures, as its task measures them."""
    if record.task == "segmentation":
        return f"mIoU {record.miou:.1f} (VOC 2012 val)"
    if record.task == "detection":
        return f"mAP {record.map:.1f} (COCO val2017)"
    return f"top-1 {record.top1:.2f}  top-5 {record.top5:.2f}"


def _list_configs() -> None:
    paths = shipped_configs()
    if not paths:
        raise FileNotFoundError(
            "no configs/ folder here or in the mobilevit source checkout; the configs ship "
            "with the source (git clone), not with the installed package"
        )
    shown = [_shown_path(path) for path in paths]
    width = max(len(text) for text in shown)
    print(f"{'config':<{width}}  {'arch':<9} {'classes':>7}  data root")
    for path, text in zip(paths, shown):
        config = load_config(path)
        arch = config.model.arch if isinstance(config.model.arch, str) else f"{len(config.model.arch)} stages"
        classes = config.model.num_classes or "folders"  # left out: the number of class folders
        print(f"{text:<{width}}  {arch:<9} {classes:>7}  {config.data.root}")


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _flops(args: argparse.Namespace) -> None:
    record = zoo.MODELS.get(args.model)
    model = init_model(args.model, cfg_options=args.cfg_options, fuse=False)  # count the BatchNorms too
    crop = model.preprocessing.crop_size
    height, width = args.shape or (crop, crop)
    complexity = measure_complexity(model, height, width)
    print(f"{args.model} at {height}x{width}")
    if record is None:
        print(f"{'params (M)':<22} {complexity.params / 1e6:>10.3f}")
        print(f"{'multiply-adds (G)':<22} {complexity.macs / 1e9:>10.3f}")
    else:
        print(f"{'':<22} {'measured':>10} {'published':>10}")
        print(f"{'params (M)':<22} {complexity.params / 1e6:>10.3f} {record.params_m:>10.2f}")
        size = record.preprocessing.crop_size
        published = f"{record.flops_g:>10.2f}" if (height, width) == (size, size) else f"{f'({size}x{size})':>10}"
        print(f"{'multiply-adds (G)':<22} {complexity.macs / 1e9:>10.3f} {published}")
    for kind, count in complexity.breakdown.items():
        print(f"  {kind:<20} {count / 1e9:>10.3f}")


def _weights(args: argparse.Namespace) -> str | None:
    """The ``--checkpoint`` given, else the official weights of a zoo model (downloaded once); None
    where the model named is a checkpoint, which holds its own weights."""
    if args.checkpoint is not None:
        return args.checkpoint
    if args.model is None:
        raise ValueError(
            f"{args.command} needs a model: pass --checkpoint CHECKPOINT (a training checkpoint or "
            "our .safetensors describes its model), a zoo name or a config file"
        )
    if args.model in zoo.MODELS:
        return zoo.get_record(args.model).url
    if is_config_file(args.model):
        raise ValueError(f"{args.command} needs trained weights for {args.model}: pass --checkpoint PATH|URL")
    return None


def _refuse_exported(source: str | None) -> None:
    """An exported file is run by its runtime, not read as a checkpoint: say which ``--backend``."""
    exported = exported_format(source) if source is not None else None
    if exported == "coreml":
        raise ValueError(f"{source} is an exported Core ML model, not a checkpoint: it runs on Apple devices only")
    if exported is not None:
        backend = next(name for name, (export_format, _) in RUNTIMES.items() if export_format == exported)
        raise ValueError(
            f"{source} is an exported {exported} model, not a checkpoint: predict runs it with "
            f"--backend {backend} --checkpoint {source} --model MODEL (the zoo name, config or "
            "checkpoint it was exported from, for its preprocessing and class names)"
        )


def _model(args: argparse.Namespace) -> ImageClassifier | DeepLabV3 | SSDLite:
    """The model to predict with: its weights on ``--backend pytorch``, else only its preprocessing
    and class names (the weights are in the exported file, which the backend's runner loads)."""
    if args.backend == "pytorch":
        weights = _weights(args)
        _refuse_exported(args.model)
        _refuse_exported(weights)
        return init_model(args.model, weights, device=args.device, cfg_options=args.cfg_options)
    export_format = RUNTIMES[args.backend][0]
    if args.checkpoint is None or exported_format(args.checkpoint) != export_format:
        raise ValueError(
            f"--backend {args.backend} runs an exported {export_format} model: pass --checkpoint "
            f"FILE{SUFFIXES[export_format]} (see `mobilevit export --format {export_format}`), "
            f"got {args.checkpoint}"
        )
    if args.model is None:
        raise ValueError(
            f"{args.checkpoint} holds no preprocessing or class names: pass --model with the zoo name, "
            "config or checkpoint it was exported from"
        )
    _refuse_exported(args.model)
    return init_model(args.model, cfg_options=args.cfg_options)


def _logits(args: argparse.Namespace, model: ImageClassifier | DeepLabV3) -> LogitsFunction:
    """What computes the model's logits on ``--backend``: the model itself or the exported file."""
    if args.backend == "pytorch":
        return torch_logits(model)
    return RUNTIMES[args.backend][1](Path(args.checkpoint))


def _predict(args: argparse.Namespace) -> None:
    model = _model(args)
    if isinstance(model, DeepLabV3):
        _predict_masks(args, model)
        return
    if isinstance(model, SSDLite):
        _predict_detections(args, model)
        return
    logits = _logits(args, model)
    class_names = model.class_names or None
    paths, failures = _image_paths(args.images)
    classified = 0
    for start in range(0, len(paths), args.batch_size):
        images, batch = _read_images(paths[start : start + args.batch_size], model.preprocessing, failures)
        if images:
            classified += len(images)
            for image, result in zip(images, describe_predictions(logits(batch), class_names)):
                _print_prediction(image, result, class_names, args.topk, args.json)
    if failures:
        raise ValueError(
            f"{len(failures)} of the inputs could not be classified (reported above); {classified} images were"
        )


def _read_images(
    paths: Sequence[str], preprocessing: Preprocessing, failures: list[str]
) -> tuple[list[str], torch.Tensor | None]:
    """The readable ones of ``paths`` and their batch; each unreadable one is reported, and
    added to ``failures``, and the others go on."""
    images, tensors = [], []
    for path in paths:
        try:
            tensors.append(prepare_batch([path], preprocessing))
        except (ValueError, OSError) as error:
            failures.append(str(error))
            print(f"mobilevit predict: error: {error}", file=sys.stderr)
        else:
            images.append(path)
    return images, torch.cat(tensors) if tensors else None


def _image_paths(arguments: Sequence[str]) -> tuple[list[str], list[str]]:
    """The files to classify: each file as given, and the image files of each directory (every
    extension of :data:`~mobilevit.data.datasets.IMAGE_EXTENSIONS`, recursively, sorted); and the
    errors, printed, of directories without images."""
    paths, failures = [], []
    for argument in arguments:
        if not Path(argument).is_dir():
            paths.append(argument)
            continue
        found = sorted(
            str(path)
            for path in Path(argument).rglob("*")
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
        )
        if not found:
            failures.append(argument)
            print(
                f"mobilevit predict: error: no images ({', '.join(IMAGE_EXTENSIONS)}) in directory {argument}",
                file=sys.stderr,
            )
        paths += found
    return paths, failures


def _predict_masks(args: argparse.Namespace, model: DeepLabV3) -> None:
    """Segment each image; write its mask as a palette PNG and an overlay on the image into --out-dir."""
    logits = _logits(args, model)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(args.images), args.batch_size):
        paths = args.images[start : start + args.batch_size]
        rgbs = [read_image(path) for path in paths]
        for path, rgb, result in zip(paths, rgbs, segment(model, rgbs, logits)):
            stem = Path(path).stem
            mask_path, overlay_path = out_dir / f"{stem}_mask.png", out_dir / f"{stem}_overlay.png"
            save_palette_mask(result["pred_mask"], mask_path)
            overlay_mask(rgb, result["pred_mask"]).save(overlay_path)
            shares = np.bincount(result["pred_mask"].ravel()) / result["pred_mask"].size
            classes = [
                (name, float(shares[label]))
                for label, name in zip(np.unique(result["pred_mask"]), result["pred_classes"])
            ]
            if args.json:
                print(
                    json.dumps(
                        {
                            "image": path,
                            "mask": str(mask_path),
                            "overlay": str(overlay_path),
                            "classes": [{"class": name, "share": share} for name, share in classes],
                        }
                    )
                )
            else:
                print(
                    f"{path}: wrote {mask_path} and {overlay_path}; "
                    + ", ".join(f"{name} {100 * share:.1f}%" for name, share in classes)
                )


def _predict_detections(args: argparse.Namespace, model: SSDLite) -> None:
    """Detect objects in each image, print them (or JSON) and write the image with its boxes drawn
    into --out-dir; on another backend than pytorch the exported file runs and the model's decoding follows."""
    if args.backend == "torchscript":
        raise ValueError(
            "--backend torchscript runs classifiers; detect with pytorch, onnxruntime, openvino, tflite or executorch"
        )
    if args.backend == "pytorch":
        detector = model
    elif args.backend == "onnxruntime":
        detector = OnnxDetector(args.checkpoint)
    else:
        detector = ExportedDetector(args.checkpoint, RUNTIMES[args.backend][0])
    output_dir = Path(args.out_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for image in args.images:
        if not isinstance(detector, SSDLite):
            result = describe_detections(detector([detection_input(image)]), detector.class_names or None)[0]
        else:
            result = detect_objects(detector, image)
        keep = result["scores"] >= args.score_threshold
        found = [
            {
                "box": [round(float(value), 2) for value in box],
                "score": float(score),
                "label": int(label),
                "class": name,
            }
            for box, score, label, name, kept in zip(
                result["boxes"], result["scores"], result["labels"], result["classes"], keep
            )
            if kept
        ]
        path = output_dir / f"{Path(image).stem}_detections.png"
        draw_detections(image, result, args.score_threshold).save(path)
        if args.json:
            print(json.dumps({"image": image, "detections": found, "drawn": str(path)}))
            continue
        print(f"{image}: {len(found)} detections with score >= {args.score_threshold} (drawn in {path})")
        for item in found:
            x1, y1, x2, y2 = item["box"]
            print(f"  {item['class']:<16} {item['score']:.3f}  ({x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f})")


def _print_prediction(image: str, result: dict, class_names: Sequence[str] | None, topk: int, as_json: bool) -> None:
    scores = result["pred_scores"]
    top = [(int(label), float(scores[label])) for label in scores.argsort()[::-1][:topk]]
    names = [class_names[label] if class_names is not None else str(label) for label, _ in top]
    if as_json:
        print(
            json.dumps(
                {
                    "image": image,
                    "pred_label": result["pred_label"],
                    "pred_score": result["pred_score"],
                    "pred_class": result["pred_class"],
                    "topk": [
                        {"label": label, "score": score, "class": name} for (label, score), name in zip(top, names)
                    ],
                }
            )
        )
        return
    print(image)
    print(f"  {'rank':>4} {'label':>6} {'score':>7}  class")
    for rank, ((label, score), name) in enumerate(zip(top, names), start=1):
        print(f"  {rank:>4} {label:>6} {score:>7.4f}  {name}")


def _convert(args: argparse.Namespace) -> None:
    checkpoint = read_checkpoint(args.source)
    state_dict = checkpoint.state_dict
    class_names = checkpoint.metadata.get("class_names")
    if args.config is not None:  # a custom arch in a file that does not carry its config
        config = load_config(args.config)
        arch, preprocessing = config.model.arch, config.data.preprocessing
        class_names = class_names or list(config.model.class_names) or None
    else:
        # a training checkpoint's config names its arch and preprocessing, our format's header too
        config = checkpoint_config(checkpoint) if "config" in checkpoint.metadata else None
        arch = args.arch or checkpoint.metadata.get("arch") or (config.model.arch if config else infer_arch(state_dict))
        preprocessing = checkpoint_preprocessing(checkpoint)
    num_classes = num_classes_of(state_dict)
    # Loading into the model checks every name and shape before anything is written.
    output_stride = None
    if task_of(state_dict) == "segmentation":
        # it shapes no tensor: from our header or the run's config, else the published weights' 16
        output_stride = (
            checkpoint.metadata.get("output_stride")
            or (getattr(config.model, "output_stride", None) if config else None)
            or 16
        )
        model = build_segmenter(arch, num_classes, output_stride)
    else:
        model = build_classifier(arch, num_classes=num_classes or 1000)
    load_checkpoint(model, checkpoint, strict_head=num_classes is not None)
    destination = save_checkpoint(
        args.destination,
        state_dict,
        arch,
        preprocessing,
        source_layout=checkpoint.layout,
        class_names=class_names,
        output_stride=output_stride,
    )
    flipped = ", stem input channels reversed RGB -> BGR" if checkpoint.layout == "timm" else ""
    arch_name = arch if isinstance(arch, str) else f"custom ({len(arch)} stages)"
    print(
        f"{checkpoint.path}: {checkpoint.layout} layout, arch {arch_name}, "
        f"{num_classes if num_classes is not None else 'no'} classes{flipped}"
    )
    print(f"wrote {destination} ({len(state_dict)} tensors, mobilevit format)")


# Set to 0 to run `train` and `test` with glibc's default malloc settings.
KEEP_FREED_MEMORY_VARIABLE = "MOBILEVIT_KEEP_FREED_MEMORY"


def _set_up_allocator(config: Config) -> bool:
    """Make glibc keep freed memory for this process (CPU training and testing run 1.3-1.6x faster,
    see :mod:`mobilevit.engine.allocator`) unless ``train.keep_freed_memory=False`` or
    ``MOBILEVIT_KEEP_FREED_MEMORY=0``. A process-wide setting: the command line makes it, the
    library's training and testing functions never do. Returns whether it was made."""
    if not config.train.keep_freed_memory or os.environ.get(KEEP_FREED_MEMORY_VARIABLE, "1") == "0":
        return False
    from .engine.allocator import keep_freed_memory

    return keep_freed_memory()


def _train(args: argparse.Namespace) -> None:
    from .engine import trainer

    config = load_config(args.config, args.cfg_options)
    if args.work_dir:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, work_dir=args.work_dir))
    _set_up_allocator(config)
    trainer.main(config, args.resume)


def _test(args: argparse.Namespace) -> None:
    from .engine import tester

    if args.checkpoint is None:  # `mobilevit test CHECKPOINT`: a training checkpoint carries its config
        checkpoint = args.config_or_checkpoint
        if is_config_file(checkpoint):
            raise ValueError(f"test needs a checkpoint: mobilevit test {checkpoint} CHECKPOINT")
        if args.backend != "pytorch":
            raise ValueError(
                f"--backend {args.backend} tests an exported file on a config's validation split: "
                f"mobilevit test CONFIG {checkpoint} --backend {args.backend}"
            )
        config = checkpoint_config(checkpoint, args.cfg_options)
    else:
        checkpoint = args.checkpoint
        config = load_config(args.config_or_checkpoint, args.cfg_options)
    exported_as = exported_format(checkpoint)
    if args.backend == "pytorch" and exported_as in {export_format for export_format, _ in RUNTIMES.values()}:
        backend = next(name for name, (export_format, _) in RUNTIMES.items() if export_format == exported_as)
        raise ValueError(
            f"{checkpoint} is an exported {exported_as} model, not a checkpoint: test it with --backend {backend}"
        )
    exported = None if args.backend == "pytorch" else (args.backend, load_exported(args.backend, checkpoint))
    _set_up_allocator(config)
    tester.main(config, checkpoint, args.out, args.weights, exported)


def _export(args: argparse.Namespace) -> None:
    if (args.quantize is None) != (args.calibration is None):
        raise ValueError("--quantize int8 and --calibration DIR_OR_CONFIG go together")
    weights = _weights(args)
    _refuse_exported(args.model)
    _refuse_exported(weights)
    path = export_from_name(
        args.model,
        weights,
        args.format,
        args.output,
        args.shape,
        args.dynamic,
        args.cfg_options,
        args.precision,
        args.calibration,
        args.batch_size,
    )
    if path.suffix == ".onnx" and _is_detector(path):
        print(
            f"wrote {path} (onnx, fused, input 'image' float32 (B, 3, S, S) resized -> 'bbox_regression', "
            "'cls_logits'; decode with mobilevit.export.OnnxDetector)"
        )
        return
    if settings_path(path).is_file():
        print(
            f"wrote {path} and {settings_path(path)} ({args.format}, fused, input float32 (B, 3, S, S) resized -> "
            "box regression and class logits side by side; decode with mobilevit.export.ExportedDetector)"
        )
        return
    sizes = (
        "any batch and image size"
        if serves_any_size(args.format, args.dynamic)
        else f"batches of {args.batch_size} at the exported height and width"
        if args.format in FIXED_BATCH
        else "any batch size at the exported height and width"
    )
    precision = args.precision or PRECISIONS[args.format][0]
    if args.quantize:
        precision += ", int8 weights and activations"
    if args.format == "coreml":
        print(
            f"wrote {path} (Core ML ML program, {precision}, fused, input 'image' a BGR or RGB image as the "
            f"model's preprocessing says, of the exported height and width -> 'logits'; predictions need macOS)"
        )
        return
    print(f"wrote {path} ({args.format}, {precision}, fused, input 'image' float32 (B, 3, H, W) -> 'logits'; {sizes})")


def _is_detector(path: Path) -> bool:
    import onnx

    from .export import DETECTION_METADATA_KEY

    return any(
        entry.key == DETECTION_METADATA_KEY for entry in onnx.load(str(path), load_external_data=False).metadata_props
    )


def _plot(args: argparse.Namespace) -> None:
    from .plot import plot_run

    print(f"wrote {plot_run(args.work_dir, args.out)}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _add_cfg_options(
    parser: argparse.ArgumentParser, which: str = "a config file's, or the one a training checkpoint carries"
) -> None:
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help=f"override entries of the config ({which}), e.g. optim.lr=0.001 data.batch_size=64",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mobilevit", description="MobileViT models: inspect, train, predict.")
    parser.add_argument("--version", action="version", version=f"mobilevit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list the zoo's models and their published figures, or the configs")
    listing.add_argument("--configs", action="store_true", help="list the shipped config files instead")
    listing.set_defaults(run=_list)

    flops = commands.add_parser("flops", help="count parameters and multiply-adds of a model")
    flops.add_argument(
        "model", metavar="MODEL", help="a zoo name (see `mobilevit list`), a config file or a checkpoint"
    )
    flops.add_argument("--shape", nargs=2, type=_positive, metavar=("H", "W"), help="input size (default: the model's)")
    _add_cfg_options(flops)
    flops.set_defaults(run=_flops)

    predict = commands.add_parser(
        "predict",
        help="classify images (printing the top-k classes of each) or segment them (writing masks and overlays)",
    )
    predict.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, WebP, BMP, GIF ...) or directories of them"
    )
    predict.add_argument(
        "--model",
        help="a zoo model name, a config file or a checkpoint (default: the model "
        "the --checkpoint describes: a training checkpoint's config, our "
        ".safetensors header, or the arch its shapes show)",
    )
    predict.add_argument(
        "--checkpoint",
        help="weights: a path, a directory or an http(s) URL, any known layout "
        "(default for a zoo model: its official weights); with an "
        "exported --backend, the exported file",
    )
    predict.add_argument("--topk", type=_positive, default=5, help="classes shown per image (default 5)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per image")
    predict.add_argument("--device", default="cpu", help="torch device (default cpu)")
    predict.add_argument("--batch-size", type=_positive, default=16, help="images per forward pass (default 16)")
    predict.add_argument(
        "--backend",
        choices=["pytorch", *RUNTIMES],
        default="pytorch",
        help="pytorch (default) runs a checkpoint; "
        + ", ".join(f"{name} an exported {export_format} file" for name, (export_format, _) in RUNTIMES.items()),
    )
    predict.add_argument(
        "--out-dir",
        default="predictions",
        help="segmentation models: where each image's NAME_mask.png (palette PNG of class "
        "indices) and NAME_overlay.png go; detection models: NAME_detections.png, the "
        "image with its boxes drawn (default predictions)",
    )
    predict.add_argument(
        "--score-threshold",
        type=float,
        default=0.3,
        help="detection models: the lowest score shown and drawn (default 0.3)",
    )
    _add_cfg_options(predict)
    predict.set_defaults(run=_predict)

    convert = commands.add_parser("convert", help="convert a checkpoint of any known layout to the mobilevit format")
    convert.add_argument(
        "source",
        metavar="SRC",
        help="a checkpoint path, directory or http(s) URL (mmpretrain, "
        "ml-cvnets, timm, Hugging Face or mobilevit layout)",
    )
    convert.add_argument("destination", metavar="DST", help="the .safetensors file to write")
    arch = convert.add_mutually_exclusive_group()
    arch.add_argument(
        "--arch",
        choices=list(ARCHS),
        help="the checkpoint's arch (default: what the checkpoint says, else inferred from its shapes)",
    )
    arch.add_argument(
        "--config",
        help="a config file whose model.arch (a custom list of stages, say) and data.preprocessing the checkpoint has",
    )
    convert.set_defaults(run=_convert)

    train = commands.add_parser("train", help="train a model as a config file says (also under torchrun)")
    train.add_argument("config", help="a config file, e.g. configs/mobilevit/mobilevit-small_8xb128_in1k.py")
    train.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    train.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue from this checkpoint (default: the work dir's latest.pth, if any)",
    )
    _add_cfg_options(train, "the config file's")
    train.set_defaults(run=_train)

    test = commands.add_parser("test", help="top-1 and top-5 accuracy of a checkpoint on a config's validation split")
    test.add_argument(
        "config_or_checkpoint",
        metavar="CONFIG_OR_CHECKPOINT",
        help="a config file (or the config.json of a training run) followed by CHECKPOINT; or a "
        "training checkpoint alone, tested with the config it carries",
    )
    test.add_argument(
        "checkpoint",
        nargs="?",
        metavar="CHECKPOINT",
        help="a checkpoint: path, directory or http(s) URL, any known layout",
    )
    test.add_argument("--out", help="write the results, with per-class accuracy, to this JSON file")
    test.add_argument(
        "--weights",
        choices=("ema", "model"),
        default="ema",
        help="which weights of a training checkpoint to test (default: its EMA)",
    )
    _add_cfg_options(test)
    test.add_argument(
        "--backend",
        choices=["pytorch", *RUNTIMES],
        default="pytorch",
        help="pytorch (default) tests a checkpoint; "
        + ", ".join(
            f"{name} an exported {export_format} file (CONFIG FILE)" for name, (export_format, _) in RUNTIMES.items()
        ),
    )
    test.set_defaults(run=_test)

    export = commands.add_parser(
        "export",
        help="export a model with its weights to ONNX, TorchScript, OpenVINO, Core ML, LiteRT (tflite) or ExecuTorch",
    )
    export.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="a zoo model name, a config file or a checkpoint (default: the --checkpoint)",
    )
    export.add_argument(
        "--checkpoint",
        help="weights: a path, a directory or an http(s) URL, any known layout "
        "(default for a zoo model: its official weights)",
    )
    export.add_argument("--format", choices=FORMATS, default="onnx", help="default onnx")
    export.add_argument(
        "--dynamic",
        action="store_true",
        help="ONNX, OpenVINO: let height and width vary too (the batch size always may)",
    )
    export.add_argument(
        "--precision",
        choices=sorted({name for names in PRECISIONS.values() for name in names}),
        help="what the exported model computes in: OpenVINO fp32 (default) or bf16, "
        "Core ML fp16 (default) or fp32; the others are fp32",
    )
    export.add_argument(
        "--quantize", choices=["int8"], help="OpenVINO (NNCF), tflite, executorch (PT2E): int8 weights and activations"
    )
    export.add_argument(
        "--calibration",
        metavar="DIR_OR_CONFIG",
        help="--quantize: a folder of images, or a config whose training split is used",
    )
    export.add_argument(
        "--batch-size",
        type=_positive,
        default=1,
        help="tflite, executorch: the batch size the file takes (default 1; the others take any)",
    )
    export.add_argument(
        "--shape",
        nargs=2,
        type=_positive,
        metavar=("H", "W"),
        help="example input size (default: the model's crop size)",
    )
    export.add_argument(
        "--output",
        help="the file to write (default: MODEL and the format's suffix: .onnx, .pt, "
        ".xml, .mlpackage, .tflite, .pte, from the model's name)",
    )
    _add_cfg_options(export)
    export.set_defaults(run=_export)

    plot = commands.add_parser("plot", help="draw a training run's loss, learning rate and validation metric (PNG)")
    plot.add_argument("work_dir", metavar="WORK_DIR", help="the run's work dir, which holds its log.jsonl")
    plot.add_argument("--out", help="the PNG to write (default: WORK_DIR/curves.png)")
    plot.set_defaults(run=_plot)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors a user can cause print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        with local_path_advice(LOCAL_PATH_ADVICE.get(args.command, "pass its local path instead of the URL")):
            run(args)
    except USER_ERRORS as error:
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"mobilevit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:  # Ctrl-C, or SIGTERM during training (which has said how to resume)
        if not hasattr(error, "exit_status"):
            print(f"mobilevit {args.command}: interrupted", file=sys.stderr)
        return getattr(error, "exit_status", 130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
