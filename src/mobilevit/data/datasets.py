"""Image classification data sets: a folder per class (ImageNet's layout, or any custom set), or
mmpretrain's annotation files (``meta/train.txt`` of ``relative/path label`` lines)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils.data import Dataset

from ..errors import UsageError
from .image import ImageReadError, read_image
from .sampler import SampleRequest
from .transforms import EvalTransform, TrainTransform

# The files data sets and predict's directories take (case-insensitive): torchvision's ImageFolder
# list and GIF (its first frame), which read_image reads as any other image.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", ".gif")


@dataclass(frozen=True)
class ImageList:
    """Image files with their labels, and the class names the labels index."""

    samples: list[tuple[Path, int]]
    class_names: tuple[str, ...]


def scan_folders(directory: str | os.PathLike, class_names: Sequence[str] = (), every_class: bool = False) -> ImageList:
    """The images of ``directory/<class>/**`` labelled by class folder.

    Classes are the sorted folder names, or ``class_names`` when given (a validation split may
    lack some classes of the training split, never add any). With ``every_class`` (a training
    split) a class without images is refused, naming its folder.
    """
    directory = Path(directory)
    folders = class_folders(directory)
    names = tuple(class_names) or tuple(folders)
    labels = {name: label for label, name in enumerate(names)}
    unknown = [folder for folder in folders if folder not in labels]
    if unknown:
        raise UsageError(f"{directory} has class folders that are not among the {len(names)} classes: {unknown[:5]}")
    samples = [(path, labels[folder]) for folder in folders for path in image_files(directory / folder)]
    if not samples:
        raise UsageError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {directory}")
    if every_class:
        found = {label for _, label in samples}
        empty = [name for label, name in enumerate(names) if label not in found]
        if empty:
            raise UsageError(
                f"class {empty[0]!r} has no images ({', '.join(IMAGE_EXTENSIONS)}) in "
                f"{directory / empty[0]}; {len(empty)} of the {len(names)} classes have none: {empty[:5]}"
            )
    return ImageList(samples, names)


def image_files(directory: str | os.PathLike) -> list[Path]:
    """The image files (:data:`IMAGE_EXTENSIONS`) under ``directory``, recursively, in sorted folder order.

    Symbolic links to folders are followed, but every real folder is read once: a link to a folder
    that holds ``directory`` (a loop), or a second link to one already read, adds nothing. A name
    that is not valid UTF-8 is refused, naming it (logs and reports name every image).
    """
    above = Path(directory).resolve().parents
    seen = {(status.st_dev, status.st_ino) for status in map(os.stat, above)}
    found: list[tuple[str, list[str]]] = []
    for root, folders, files in os.walk(directory, onerror=_raise, followlinks=True):
        folders.sort()
        status = os.stat(root)
        if (status.st_dev, status.st_ino) in seen:
            folders.clear()
            continue
        seen.add((status.st_dev, status.st_ino))
        found.append((root, sorted(name for name in files if name.lower().endswith(IMAGE_EXTENSIONS))))
    paths = [Path(root, name) for root, names in sorted(found) for name in names]
    for path in paths:
        check_utf8_name(path)
    return paths


def _raise(error: OSError) -> None:
    raise error  # a folder that cannot be read is an error naming it, not a folder left out


def check_utf8_name(path: str | os.PathLike) -> None:
    """Refuse a path that is not valid UTF-8 (the file system gave bytes Python cannot name)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise UsageError(
            f"the file name {shown} is not valid UTF-8: rename it (logs and reports name each image)"
        ) from None


def read_lines(path: str | os.PathLike, what: str) -> list[str]:
    """The lines of a UTF-8 text file; a missing file or one of another encoding is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{what} {path} is not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8"
        ) from None


def class_folders(directory: str | os.PathLike) -> list[str]:
    """The sorted names of the class folders in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"image folder not found: {directory}")
    folders = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not folders:
        raise UsageError(f"{directory} has no class folders (expected {directory}/<class>/<image>)")
    return folders


def read_annotation(
    annotation_file: str | os.PathLike,
    image_dir: str | os.PathLike,
    class_names: Sequence[str] = (),
    every_class: bool = False,
) -> ImageList:
    """The images listed in an annotation file, one ``relative/path label`` per line, under ``image_dir``.

    Without ``class_names``, classes are named after the folder of their images when each label
    has its own folder (ImageNet's ``n01440764/...``), else by their label number. With
    ``every_class`` (a training split) a label without images is refused.
    """
    annotation_file, image_dir = Path(annotation_file), Path(image_dir)
    samples = []
    folders: dict[int, set[str]] = {}
    for number, line in enumerate(read_lines(annotation_file, "annotation file"), start=1):
        if not line.strip():
            continue
        relative, _, label_text = line.strip().rpartition(" ")
        if not relative.strip() or not label_text.isdigit():
            raise UsageError(f"{annotation_file}, line {number}: expected 'relative/path label', got {line!r}")
        label = int(label_text)
        samples.append((image_dir / relative, label))
        folders.setdefault(label, set()).add(Path(relative).parent.as_posix())
    if not samples:
        raise UsageError(f"annotation file {annotation_file} lists no images")
    if every_class:
        labels = range(max(len(class_names), max(folders) + 1))
        empty = [label for label in labels if label not in folders]
        if empty:
            raise UsageError(
                f"{annotation_file} lists no images of label {empty[0]}; "
                f"{len(empty)} of the {len(labels)} classes have none: {empty[:5]}"
            )
    num_classes = max(folders) + 1
    if class_names:
        if num_classes > len(class_names):
            raise UsageError(f"{annotation_file} has label {num_classes - 1} but there are {len(class_names)} classes")
        return ImageList(samples, tuple(class_names))
    names = [next(iter(folders[label])) if len(folders.get(label, ())) == 1 else "" for label in range(num_classes)]
    if "" in names or "." in names or len(set(names)) != num_classes:
        names = [str(label) for label in range(num_classes)]
    return ImageList(samples, tuple(names))


def read_class_names(classes: str | Sequence[str], root: str | os.PathLike) -> tuple[str, ...]:
    """Class names given in a config: a list, or a text file (relative to ``root``) of one per line."""
    if isinstance(classes, str):
        return tuple(line.strip() for line in read_lines(Path(root, classes), "class names file") if line.strip())
    return tuple(classes)


def find_images(
    kind: str,
    root: str | os.PathLike,
    split: str,
    annotation: str,
    class_names: Sequence[str] = (),
    every_class: bool = False,
) -> ImageList:
    """The images of one split: ``kind`` is 'folder', 'annotation' or 'auto' (annotation file if
    present); ``every_class`` refuses a class without images (for a training split)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root not found: {root}")
    if uses_annotation(kind, root, annotation):
        return read_annotation(root / annotation, root / split, class_names, every_class)
    return scan_folders(root / split, class_names, every_class)


def uses_annotation(kind: str, root: str | os.PathLike, annotation: str) -> bool:
    """Whether a split's labels come from its annotation file rather than from its class folders."""
    return kind == "annotation" or (kind == "auto" and Path(root, annotation).is_file())


class Sample(NamedTuple):
    """A transformed image, its label, and the files skipped (unreadable) to produce it."""

    image: torch.Tensor
    label: int
    skipped: tuple[str, ...]


class ImageDataset(Dataset):
    """Reads and transforms the images of an :class:`ImageList`.

    Training items are :class:`SampleRequest` (index, size and augmentation seed, from the
    sampler) read with a :class:`TrainTransform`; evaluation items are indices read with an
    :class:`EvalTransform`. An unreadable image raises :class:`ImageReadError` naming it, or with
    ``skip_bad_images`` is reported in ``Sample.skipped`` and, in training, replaced by the next
    readable image (so batch sizes, and the steps of every process, stay the same); in evaluation
    it becomes a blank image with label -1, which the evaluator leaves out.
    """

    def __init__(
        self, images: ImageList, transform: TrainTransform | EvalTransform, skip_bad_images: bool = False
    ) -> None:
        self.samples = images.samples
        self.class_names = images.class_names
        self.transform = transform
        self.skip_bad_images = skip_bad_images

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, request: int | SampleRequest) -> Sample:
        index = request.index if isinstance(request, SampleRequest) else int(request)
        if isinstance(self.transform, EvalTransform):
            path, label = self.samples[index]
            try:
                return Sample(self._load(path, request), label, ())
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                size = self.transform.preprocessing.crop_size
                return Sample(torch.zeros(3, size, size), -1, (str(error),))
        skipped: list[str] = []
        for offset in range(len(self.samples)):
            path, label = self.samples[(index + offset) % len(self.samples)]
            try:
                return Sample(self._load(path, request), label, tuple(skipped))
            except ImageReadError as error:
                if not self.skip_bad_images:
                    raise
                skipped.append(str(error))
        raise ImageReadError(f"no readable image among the {len(self.samples)} of the data set")

    def _load(self, path: Path, request: int | SampleRequest) -> torch.Tensor:
        if isinstance(self.transform, EvalTransform):
            return self.transform(read_image(path), str(path))
        if not isinstance(request, SampleRequest):
            raise TypeError("a training data set is indexed by the SampleRequests of a VariableBatchSampler")
        generator = torch.Generator().manual_seed(request.seed)
        return self.transform(path, (request.height, request.width), generator)
