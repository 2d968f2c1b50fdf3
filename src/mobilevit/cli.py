"""The ``mobilevit`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ArgumentError, MobileViTError, UsageError
from .names import ARCH_NAMES, FORMATS, PEER_LAYOUTS, PRECISIONS, RUNTIME_FORMATS, SUFFIXES

# torch, torchvision and every module that imports them are imported by the commands that use them,
# so that `mobilevit --help`, `--version` and each command's --help start without them.
if TYPE_CHECKING:
    from torch import nn

    from .config import Config
    from .tasks import Runner, Task

# The OS errors of a file, which name it (one the user named, or one of theirs mobilevit reads or writes).
FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)
# The flags whose names are not their library argument's (``export_format=`` is ``--format``).
FLAGS = {"export_format": "--format"}
# Where each command takes a local file in place of a URL that cannot be downloaded ({path}: the file).
LOCAL_PATH_ADVICE = {
    "predict": "pass --checkpoint {path}",
    "export": "pass --checkpoint {path}",
    "test": "pass {path} as CHECKPOINT",
    "convert": "pass {path} as SRC",
    "flops": "pass {path} as MODEL",
}


def _list(args: argparse.Namespace) -> None:
    from . import zoo
    from .tasks import get_task

    if args.configs:
        _list_configs()
        return
    width = max(len(name) for name in zoo.list_models())
    print(f"{'model':<{width}} {'arch':<9} {'params (M)':>10} {'FLOPs (G)':>9}  published")
    for name in zoo.list_models():
        record = zoo.get_record(name)
        published = get_task(record.task).published(record)
        print(f"{name:<{width}} {record.arch:<9} {record.params_m:>10.2f} {record.flops_g:>9.2f}  {published}")


def _list_configs() -> None:
    from .config import load_config, shipped_configs

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
    from . import zoo
    from .analysis import measure_complexity
    from .apis import model_without_weights

    record = zoo.MODELS.get(args.model)
    model, _ = model_without_weights(args.model, args.cfg_options)  # the architecture, BatchNorms and all
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
    """The ``--checkpoint`` given; None where the model named brings its own weights (a zoo model
    its official ones, downloaded once by ``init_model``; a checkpoint itself)."""
    if args.checkpoint is not None:
        return args.checkpoint
    if args.model is None:
        raise UsageError(
            f"{args.command} needs a model: pass --checkpoint CHECKPOINT (a training checkpoint or "
            "our .safetensors describes its model), a zoo name or a config file"
        )
    from .apis import is_config_file

    if is_config_file(args.model):
        raise UsageError(f"{args.command} needs trained weights for {args.model}: pass --checkpoint PATH|URL")
    return None


def _refuse_exported(source: str | None) -> None:
    """An exported file is run by its runtime, not read as a checkpoint: say which ``--backend``."""
    from .export import exported_format

    exported = exported_format(source) if source is not None else None
    if exported == "coreml":
        raise UsageError(f"{source} is an exported Core ML model, not a checkpoint: it runs on Apple devices only")
    if exported is not None:
        backend = next(name for name, export_format in RUNTIME_FORMATS.items() if export_format == exported)
        raise UsageError(
            f"{source} is an exported {exported} model, not a checkpoint: predict runs it with "
            f"--backend {backend} --checkpoint {source} --model MODEL (the zoo name, config or "
            "checkpoint it was exported from, for its preprocessing and class names)"
        )


def _model(args: argparse.Namespace) -> nn.Module:
    """The model to predict with: its weights, fused, on ``--backend pytorch``, else only its
    preprocessing and class names (the weights are in the exported file, which the backend runs)."""
    from .apis import init_model, model_without_weights
    from .export import exported_format

    if args.backend == "pytorch":
        weights = _weights(args)
        _refuse_exported(args.model)
        _refuse_exported(weights)
        return init_model(args.model, weights, device=args.device, cfg_options=args.cfg_options, fuse=True)
    export_format = RUNTIME_FORMATS[args.backend]
    if args.checkpoint is None or exported_format(args.checkpoint) != export_format:
        raise UsageError(
            f"--backend {args.backend} runs an exported {export_format} model: pass --checkpoint "
            f"FILE{SUFFIXES[export_format]} (see `mobilevit export --format {export_format}`), "
            f"got {args.checkpoint}"
        )
    if args.model is None:
        raise UsageError(
            f"{args.checkpoint} holds no preprocessing or class names: pass --model with the zoo name, "
            "config or checkpoint it was exported from"
        )
    _refuse_exported(args.model)
    return model_without_weights(args.model, args.cfg_options)[0]


def _runner(args: argparse.Namespace, model: nn.Module, task: Task) -> Runner:
    """What computes the model's outputs on ``--backend``: the model itself or the exported file."""
    from .export import exported_runner

    if args.backend == "pytorch":
        return task.runner(model)
    run = exported_runner(args.backend, args.checkpoint)
    if hasattr(run, "check_classes"):  # a detector's file decodes a class count of its own
        run.check_classes(model.num_classes)
    kind = getattr(run, "output_kind", "logits")
    if kind != task.runner_output:
        raise UsageError(
            f"{args.checkpoint} gives {kind}, and --model describes a {task.name} model, whose predict "
            f"takes {task.runner_output}: pass the model it was exported from"
        )
    return run


def _predict(args: argparse.Namespace) -> None:
    """Predict on every image of the arguments in batches, as the model's task shows results; an
    unreadable image is reported by name and the others go on (exit status 2 at the end)."""
    from tqdm import tqdm

    from .data.image import read_image
    from .tasks import RenderOptions, task_of

    model = _model(args)
    task = task_of(model)
    run = _runner(args, model, task)
    options = RenderOptions(Path(args.out_dir), args.topk, args.score_threshold)
    inputs, failures = _image_paths(args.images)
    stems = output_stems(inputs)
    done = 0
    # Results printed on a terminal show the progress themselves; sent elsewhere, a bar on stderr
    # (a terminal only) shows it, for more images than one batch.
    bar = tqdm(
        total=len(inputs),
        unit="image",
        desc="predict",
        leave=False,
        disable=None if len(inputs) > args.batch_size and not sys.stdout.isatty() else True,
    )
    for start in range(0, len(inputs), args.batch_size):
        batch = []
        for image, stem in inputs[start : start + args.batch_size]:
            try:
                batch.append((image, stem, read_image(image)))
            except (ValueError, OSError) as error:
                failures.append(str(error))
                print(f"mobilevit predict: error: {error}", file=sys.stderr)
        bar.update(len(inputs[start : start + args.batch_size]))
        if not batch:
            continue
        rgbs, names = [rgb for _, _, rgb in batch], [image for image, _, _ in batch]
        results = task.predict(model, rgbs, run, names, pixel_scores=False)  # rendering needs no pixel scores
        for (image, _, rgb), result in zip(batch, results):
            rendered = task.render(model, image, rgb, result, stems[image], options)
            print(json.dumps(rendered.record) if args.json else rendered.text)
        done += len(batch)
    bar.close()
    if failures:
        raise UsageError(
            f"{len(failures)} of the inputs could not be read (reported above); the other {done} were predicted"
        )


def _image_paths(arguments: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The images to predict on, each with the folder-relative name its outputs take: each file as
    given (its name), and the image files of each directory (every extension of
    :data:`~mobilevit.data.datasets.IMAGE_EXTENSIONS`, recursively, sorted; their path below the
    directory); and the errors, printed, of directories without images."""
    from .data.datasets import IMAGE_EXTENSIONS, image_files

    inputs, failures = [], []
    for argument in arguments:
        if not Path(argument).is_dir():
            inputs.append((argument, Path(argument).name))
            continue
        found = sorted(path for path in image_files(argument) if path.is_file())
        if not found:
            failures.append(argument)
            print(
                f"mobilevit predict: error: no images ({', '.join(IMAGE_EXTENSIONS)}) in directory {argument}",
                file=sys.stderr,
            )
        inputs += [(str(path), str(path.relative_to(argument))) for path in found]
    return inputs, failures


def output_stems(inputs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The name each image's pictures start with (``STEM_mask.png`` ...): its relative name without
    the extension, or with it (``x_png``) where two inputs would otherwise share one, and a number
    where even that is shared, so that no picture overwrites another's."""
    plain = [str(Path(name).with_suffix("")) for _, name in inputs]
    shared = {stem for stem in plain if plain.count(stem) > 1}
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for (image, name), stem in zip(inputs, plain):
        if image in stems:  # the same file twice writes one set of pictures
            continue
        if stem in shared:
            stem = f"{stem}_{Path(name).suffix.lstrip('.').lower() or 'image'}"
        candidate, number = stem, 2
        while candidate in taken:
            candidate, number = f"{stem}_{number}", number + 1
        taken.add(candidate)
        stems[image] = candidate
    return stems


def _convert(args: argparse.Namespace) -> None:
    from .apis import convert_checkpoint

    converted = convert_checkpoint(args.source, args.destination, args.arch, args.config, to=args.to)
    flipped = ", stem input channels reversed RGB -> BGR" if converted.layout == "timm" else ""
    arch = converted.arch if isinstance(converted.arch, str) else f"custom ({len(converted.arch)} stages)"
    print(
        f"{converted.source}: {converted.layout} layout, arch {arch}, {converted.num_classes} classes{flipped} "
        f"({converted.task})"
    )
    written = "mobilevit format" if args.to == "mobilevit" else f"{args.to} layout"
    print(f"wrote {converted.destination} ({converted.tensors} tensors, {written})")


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
    from .config import load_config
    from .engine import trainer

    config = load_config(args.config, args.cfg_options)
    if args.work_dir:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, work_dir=args.work_dir))
    _set_up_allocator(config)
    trainer.main(config, args.resume)


def _test(args: argparse.Namespace) -> None:
    from .apis import checkpoint_config, is_config_file
    from .config import load_config
    from .engine import tester
    from .export import exported_format, exported_scorer
    from .tasks import get_task

    if args.checkpoint is None:  # `mobilevit test CHECKPOINT`: a training checkpoint carries its config
        checkpoint = args.config_or_checkpoint
        if is_config_file(checkpoint):
            raise UsageError(f"test needs a checkpoint: mobilevit test {checkpoint} CHECKPOINT")
        if args.backend != "pytorch":
            raise UsageError(
                f"--backend {args.backend} tests an exported file on a config's validation split: "
                f"mobilevit test CONFIG {checkpoint} --backend {args.backend}"
            )
        config = checkpoint_config(checkpoint, args.cfg_options)
    else:
        checkpoint = args.checkpoint
        config = load_config(args.config_or_checkpoint, args.cfg_options)
    exported_as = exported_format(checkpoint)
    if args.backend == "pytorch" and exported_as in RUNTIME_FORMATS.values():
        backend = next(name for name, export_format in RUNTIME_FORMATS.items() if export_format == exported_as)
        raise UsageError(
            f"{checkpoint} is an exported {exported_as} model, not a checkpoint: test it with --backend {backend}"
        )
    task = get_task(config.task)
    exported = None
    if args.backend != "pytorch":
        order = config.data.preprocessing.channel_order
        exported = (args.backend, exported_scorer(args.backend, checkpoint, task, order))
    _set_up_allocator(config)
    tester.main(config, checkpoint, args.out, args.weights, exported)


def _export(args: argparse.Namespace) -> None:
    from .export import describe_export, export_from_name

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
        args.quantize,
        args.force,
    )
    print(f"wrote {describe_export(path, args.format, args.precision, args.quantize, args.dynamic, args.batch_size)}")


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
    parser = argparse.ArgumentParser(
        prog="mobilevit",
        description="MobileViT classifiers, segmenters and detectors: list, count, predict, convert, train, "
        "test, export and plot.",
    )
    parser.add_argument("--version", action="version", version=f"mobilevit {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show the traceback of any error (also {DEBUG_VARIABLE}=1), for reporting a bug",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_list(commands)
    _add_flops(commands)
    _add_predict(commands)
    _add_convert(commands)
    _add_train(commands)
    _add_test(commands)
    _add_export(commands)
    _add_plot(commands)
    return parser


def _add_list(commands: argparse._SubParsersAction) -> None:
    """`mobilevit list`: the zoo's models or the shipped configs."""
    listing = commands.add_parser("list", help="list the zoo's models and their published figures, or the configs")
    listing.add_argument("--configs", action="store_true", help="list the shipped config files instead")
    listing.set_defaults(run=_list)


def _add_flops(commands: argparse._SubParsersAction) -> None:
    """`mobilevit flops`: parameter and multiply-add counts."""
    flops = commands.add_parser("flops", help="count parameters and multiply-adds of a model")
    flops.add_argument(
        "model", metavar="MODEL", help="a zoo name (see `mobilevit list`), a config file or a checkpoint"
    )
    flops.add_argument("--shape", nargs=2, type=_positive, metavar=("H", "W"), help="input size (default: the model's)")
    _add_cfg_options(flops)
    flops.set_defaults(run=_flops)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    """`mobilevit predict`: predictions on images, for every task."""
    predict = commands.add_parser(
        "predict",
        help="classify, segment or detect objects in images (printing the top-k classes, writing masks and "
        "overlays, or drawing boxes)",
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
        choices=["pytorch", *RUNTIME_FORMATS],
        default="pytorch",
        help="pytorch (default) runs a checkpoint; "
        + ", ".join(f"{name} an exported {export_format} file" for name, export_format in RUNTIME_FORMATS.items()),
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


def _add_convert(commands: argparse._SubParsersAction) -> None:
    """`mobilevit convert`: checkpoints into our format or a peer's."""
    convert = commands.add_parser(
        "convert", help="convert a checkpoint of any known layout to the mobilevit format or, with --to, a peer's"
    )
    convert.add_argument(
        "source",
        metavar="SRC",
        help="a checkpoint path, directory, http(s) URL or hf-hub:ORG/REPO name (mmpretrain, "
        "ml-cvnets, timm, Hugging Face or mobilevit layout)",
    )
    convert.add_argument(
        "destination",
        metavar="DST",
        help="the .safetensors file to write (with --to, the file or folder of that layout)",
    )
    arch = convert.add_mutually_exclusive_group()
    arch.add_argument(
        "--arch",
        choices=list(ARCH_NAMES),
        help="the checkpoint's arch (default: what the checkpoint says, else inferred from its shapes)",
    )
    arch.add_argument(
        "--config",
        help="a config file whose model.arch (a custom list of stages, say) and data.preprocessing the checkpoint has",
    )
    convert.add_argument(
        "--to",
        choices=["mobilevit", *PEER_LAYOUTS],
        default="mobilevit",
        help="the layout to write (default: mobilevit's .safetensors); huggingface and a timm DST without a "
        "weights suffix are folders (see docs/checkpoints.md)",
    )
    convert.set_defaults(run=_convert)


def _add_train(commands: argparse._SubParsersAction) -> None:
    """`mobilevit train`: training from a config."""
    train = commands.add_parser(
        "train",
        help="train a model as a config file says (also under torchrun); Ctrl-C saves a checkpoint to resume from",
    )
    train.add_argument("config", help="a config file, e.g. configs/mobilevit/mobilevit-small_8xb128_in1k.py")
    train.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    train.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue from this checkpoint (default: the work dir's latest.pth, if any)",
    )
    _add_cfg_options(train, "the config file's")
    train.set_defaults(run=_train)


def _add_test(commands: argparse._SubParsersAction) -> None:
    """`mobilevit test`: a checkpoint's metric on a config's validation split."""
    test = commands.add_parser(
        "test",
        help="a checkpoint's metric on a config's validation split: top-1 and top-5 accuracy, mIoU or box mAP",
    )
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
        choices=["pytorch", *RUNTIME_FORMATS],
        default="pytorch",
        help="pytorch (default) tests a checkpoint; "
        + ", ".join(
            f"{name} an exported {export_format} file (CONFIG FILE)" for name, export_format in RUNTIME_FORMATS.items()
        ),
    )
    test.set_defaults(run=_test)


def _add_export(commands: argparse._SubParsersAction) -> None:
    """`mobilevit export`: a model to a deployment format."""
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
    export.add_argument("--force", action="store_true", help="replace the output file if it exists")
    export.add_argument(
        "--output",
        help="the file to write (default: the model's name, what the file is where its suffix does not say "
        "it, and the suffix: NAME.onnx, NAME-openvino-int8.xml, NAME-torchscript.pt, NAME.tflite ...)",
    )
    _add_cfg_options(export)
    export.set_defaults(run=_export)


def _add_plot(commands: argparse._SubParsersAction) -> None:
    """`mobilevit plot`: a run's curves as a PNG."""
    plot = commands.add_parser("plot", help="draw a training run's loss, learning rate and validation metric (PNG)")
    plot.add_argument("work_dir", metavar="WORK_DIR", help="the run's work dir, which holds its log.jsonl")
    plot.add_argument("--out", help="the PNG to write (default: WORK_DIR/curves.png)")
    plot.set_defaults(run=_plot)


# Set to 1 for the traceback of any error, as --debug does (for reporting a bug).
DEBUG_VARIABLE = "MOBILEVIT_DEBUG"


def is_user_error(error: BaseException) -> bool:
    """Whether ``error`` is one a user can cause (one of mobilevit's own, or an OS error about a file),
    shown as one line; anything else is a bug, shown with its traceback."""
    if isinstance(error, MobileViTError) or isinstance(error, FILE_ERRORS):
        return True
    return isinstance(error, OSError) and error.filename is not None


def flag(name: str, value: object) -> str:
    """A library argument as the command line passes it: ``--precision bf16``, ``--dynamic``, ``--shape 64 64``."""
    option = FLAGS.get(name, "--" + name.replace("_", "-"))
    if value is ... or value is True:
        return option
    if isinstance(value, (tuple, list)):
        return " ".join([option, *map(str, value)])
    return f"{option} {value}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; errors a user can cause print one line and exit with status 2, unless
    ``--debug`` (or ``MOBILEVIT_DEBUG=1``) asks for the traceback. Any other error is a bug and
    shows its traceback."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    from .download import local_path_advice

    advice = local_path_advice(LOCAL_PATH_ADVICE.get(args.command, "pass its local path instead of the URL"))
    if args.debug or os.environ.get(DEBUG_VARIABLE, "0") not in ("", "0"):
        with advice:
            run(args)
        return 0
    try:
        with advice:
            run(args)
    except (MobileViTError, OSError) as error:
        if not is_user_error(error):
            raise
        text = error.render(flag) if isinstance(error, ArgumentError) else str(error)
        message = " ".join(line.strip() for line in text.splitlines() if line.strip())
        print(f"mobilevit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:  # Ctrl-C, or SIGTERM during training (which has said how to resume)
        if not hasattr(error, "exit_status"):
            print(f"mobilevit {args.command}: interrupted", file=sys.stderr)
        return getattr(error, "exit_status", 130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
