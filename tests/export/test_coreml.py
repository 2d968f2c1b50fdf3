"""`mobilevit export --format coreml`: an ML program with the model's preprocessing in its image input.

Core ML predicts on macOS only, so these tests check the converted program, not its logits."""

import pytest

from mobilevit.cli import flag, main
from mobilevit.data.transforms import Preprocessing
from mobilevit.export import export_model
from mobilevit.models import build_classifier

ct = pytest.importorskip("coremltools")

ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]


def program_of(path):
    spec = ct.models.MLModel(str(path), skip_model_load=True).get_spec()
    operations = [
        operation.type
        for function in spec.mlProgram.functions.values()
        for block in function.block_specializations.values()
        for operation in block.operations
    ]
    return spec.description, operations


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_an_ml_program_with_a_bgr_image_input(tmp_path, precision):
    model = build_classifier(ARCH, num_classes=3).eval()
    model.preprocessing = Preprocessing(resize_short=36, crop_size=32)
    path = export_model(model, tmp_path / "tiny.mlpackage", "coreml", 32, 48, precision=precision)
    description, operations = program_of(path)
    image = description.input[0]
    assert image.name == "image"
    assert (image.type.imageType.height, image.type.imageType.width) == (32, 48)
    assert ct.proto.FeatureTypes_pb2.ImageFeatureType.ColorSpace.Name(image.type.imageType.colorSpace) == "BGR"
    logits = description.output[0]
    assert logits.name == "logits" and list(logits.type.multiArrayType.shape) == [1, 3]
    data_type = ct.proto.FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(logits.type.multiArrayType.dataType)
    assert data_type == ("FLOAT16" if precision == "fp16" else "FLOAT32")
    # Attention stays plain matrix products and a softmax, which every Core ML compute unit runs.
    assert operations.count("matmul") == 2 and operations.count("softmax") == 1
    assert "conv" in operations and "batch_norm" not in operations  # the fused model


def test_preprocessing_it_cannot_express_is_refused(tmp_path):
    model = build_classifier(ARCH, num_classes=3).eval()
    model.preprocessing = Preprocessing(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
    with pytest.raises(ValueError, match="scales every channel alike"):
        export_model(model, tmp_path / "tiny.mlpackage", "coreml", 32, 32)
    with pytest.raises(ValueError, match="dynamic=True applies to ONNX and OpenVINO, not coreml") as refused:
        export_model(model, tmp_path / "tiny.mlpackage", "coreml", 32, 32, dynamic=True)
    assert refused.value.render(flag) == "--dynamic applies to ONNX and OpenVINO, not coreml"
    with pytest.raises(
        ValueError, match="precision='bf16' does not apply to coreml; expected one of fp16, fp32"
    ) as refused:
        export_model(model, tmp_path / "tiny.mlpackage", "coreml", 32, 32, precision="bf16")
    assert refused.value.render(flag) == "--precision bf16 does not apply to coreml; expected one of fp16, fp32"


def test_options_are_checked_before_the_model_is_built(tmp_path, capsys):
    assert (
        main(
            [
                "export",
                "mobilevit-xxsmall_3rdparty_in1k",
                "--checkpoint",
                str(tmp_path / "missing.pth"),
                "--format",
                "coreml",
                "--precision",
                "bf16",
            ]
        )
        == 2
    )
    assert "--precision bf16 does not apply to coreml" in capsys.readouterr().err
