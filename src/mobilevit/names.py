"""The names the command line offers before it imports torch: archs, export formats and their
precisions, the runtimes of exported files, and the peer layouts ``convert --to`` writes. Plain
data, so that ``mobilevit --help`` and ``--version`` start in a fraction of a second; the modules
that implement each name import it from here (the arch names are checked against the arch tables
by the tests)."""

# Every named arch, v1's then v2's (:data:`mobilevit.models.ARCH_NAMES`, from the arch tables).
ARCH_NAMES: tuple[str, ...] = (
    "small",
    "x_small",
    "xx_small",
    "v2_050",
    "v2_075",
    "v2_100",
    "v2_125",
    "v2_150",
    "v2_175",
    "v2_200",
)

# The export formats and the suffix of each one's file.
FORMATS = ("onnx", "torchscript", "openvino", "coreml", "tflite", "executorch")
SUFFIXES = {
    "onnx": ".onnx",
    "torchscript": ".pt",
    "openvino": ".xml",
    "coreml": ".mlpackage",
    "tflite": ".tflite",
    "executorch": ".pte",
}
# The precisions each format computes in, its default first.
PRECISIONS = {
    "onnx": ("fp32",),
    "torchscript": ("fp32",),
    "openvino": ("fp32", "bf16"),
    "coreml": ("fp16", "fp32"),
    "tflite": ("fp32",),
    "executorch": ("fp32",),
}
# The runtimes that `mobilevit predict|test --backend NAME` run exported files with, and the export
# format each takes.
RUNTIME_FORMATS = {
    "onnxruntime": "onnx",
    "torchscript": "torchscript",
    "openvino": "openvino",
    "tflite": "tflite",
    "executorch": "executorch",
}
# The peer layouts `mobilevit convert --to` writes.
PEER_LAYOUTS = ("huggingface", "timm", "mmpretrain", "cvnets")
