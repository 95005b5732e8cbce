"""Converts YAMNet's TFLite file into the weights shipped in components/audio/yamnet_assets.

Usage: ``python scripts/convert_yamnet.py [TFLITE] [OUT_NPZ]`` (defaults: the copy in
``../shared/models/yamnet`` and the shipped ``yamnet_weights.npz``); prints the output's sha256,
which ``yamnet_weights.WEIGHTS_SHA256`` and the NOTICE must then state.

The TFLite graph's tensor names are anonymised, so weights are matched to layers by operator
order: the first FULLY_CONNECTED is the mel filterbank (its bias is the 0.001 log offset), the
CONV_2D / DEPTHWISE_CONV_2D operators are YAMNet's 27 convolutions in order (their strides,
``SAME`` padding and fused ReLU are checked against ``yamnet.BLOCKS``), the last FULLY_CONNECTED
is the 521-way logits layer. Layouts become Keras's (conv OHWI → HWIO, depthwise ``[1, 3, 3, C]``
→ ``(3, 3, C, 1)``, dense ``[out, in]`` → ``(in, out)``). int8 per-channel tensors are stored as
int8 plus their float32 scales (zero points are checked to be 0), so loading reproduces TFLite's
dequantised weights bit for bit. The ``.npz`` is written with fixed zip timestamps and sorted
keys, so converting the same file twice gives the same bytes (and sha256).

``float_reference`` rewrites the TFLite model with every int8 tensor dequantised to float32: the
interpreter then runs YAMNet in float (the file as shipped quantises activations on the fly), which
is the reference of the parity tests.
"""

import sys
import zipfile
from pathlib import Path

import flatbuffers
import numpy as np
from tensorflow.lite.python import schema_py_generated as schema

from components.audio import yamnet, yamnet_frontend, yamnet_weights

DEFAULT_TFLITE = (
    Path(__file__).resolve().parents[2] / "shared" / "models" / "yamnet" / "yamnet.tflite"
)
_NUMPY_TYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.INT32: np.int32,
    schema.TensorType.INT8: np.int8,
}
_OP_NAMES = {code: name for name, code in vars(schema.BuiltinOperator).items() if name.isupper()}


def read_model(tflite: bytes) -> schema.ModelT:
    """Parses a TFLite flatbuffer into its mutable object form."""
    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(tflite, 0))


def _op_name(model: schema.ModelT, op: schema.OperatorT) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    return _OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]


def _tensor(model: schema.ModelT, index: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """A constant tensor's values, its per-channel scales (``None`` if float) and their axis."""
    tensor = model.subgraphs[0].tensors[index]
    data = bytes(bytearray(model.buffers[tensor.buffer].data))
    values = np.frombuffer(data, _NUMPY_TYPES[tensor.type]).reshape(tensor.shape)
    quant = tensor.quantization
    if tensor.type != schema.TensorType.INT8:
        return values, None, 0
    if quant is None or quant.scale is None or np.any(np.asarray(quant.zeroPoint) != 0):
        raise ValueError(f"tensor {index} is int8 but not symmetric per-channel quantised")
    return values, np.asarray(quant.scale, np.float32), quant.quantizedDimension


def _keras_arrays(
    name: str, values: np.ndarray, scales: np.ndarray | None, axis: int, order: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """``name`` (float) or ``name.int8`` + ``name.scale`` after transposing by ``order``."""
    kernel = np.ascontiguousarray(values.transpose(order))
    if scales is None:
        return {name: kernel.astype(np.float32)}
    scale_shape = [1] * kernel.ndim
    scale_shape[order.index(axis)] = scales.size
    return {
        name + yamnet_weights.INT8_SUFFIX: kernel,
        name + yamnet_weights.SCALE_SUFFIX: scales.reshape(scale_shape),
    }


def extract_weights(tflite: bytes) -> dict[str, np.ndarray]:
    """Maps the TFLite model's constant tensors to YAMNet's layers by operator order."""
    model = read_model(tflite)
    ops = model.subgraphs[0].operators
    convs = [op for op in ops if _op_name(model, op) in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    dense = [op for op in ops if _op_name(model, op) == "FULLY_CONNECTED"]
    names = yamnet.conv_layer_names()
    if len(convs) != len(names) or len(dense) != 2:
        raise ValueError(
            f"expected {len(names)} convolutions and 2 fully connected layers, found "
            f"{len(convs)} and {len(dense)}: not YAMNet"
        )
    strides = [
        block.stride if part != "pointwise" else 1
        for block in yamnet.BLOCKS
        for part in (("conv",) if block.kind == "conv" else ("depthwise", "pointwise"))
    ]
    arrays: dict[str, np.ndarray] = {}
    for name, stride, op in zip(names, strides, convs, strict=True):
        options = op.builtinOptions
        if (options.strideH, options.strideW, options.padding, options.fusedActivationFunction) != (
            stride,
            stride,
            schema.Padding.SAME,
            schema.ActivationFunctionType.RELU,
        ):
            raise ValueError(f"{name}: stride/padding/activation differ from YAMNet's")
        kernel, scales, axis = _tensor(model, op.inputs[1])
        # OHWI → HWIO; for depthwise kernels the same transpose turns [1, 3, 3, C] into (3, 3, C, 1)
        arrays.update(_keras_arrays(f"{name}.kernel", kernel, scales, axis, (1, 2, 3, 0)))
        arrays[f"{name}.bias"] = _tensor(model, op.inputs[2])[0].astype(np.float32)
    mel, logits = dense
    mel_bias = _tensor(model, mel.inputs[2])[0]
    if not np.allclose(mel_bias, yamnet_frontend.LOG_OFFSET):
        raise ValueError("the first fully connected layer is not the mel filterbank")
    arrays.update(_keras_arrays("mel_matrix", *_tensor(model, mel.inputs[1]), (1, 0)))
    arrays.update(
        _keras_arrays(f"{yamnet.LOGITS}.kernel", *_tensor(model, logits.inputs[1]), (1, 0))
    )
    arrays[f"{yamnet.LOGITS}.bias"] = _tensor(model, logits.inputs[2])[0].astype(np.float32)
    return arrays


def write_npz(arrays: dict[str, np.ndarray], path: Path) -> None:
    """``np.savez_compressed`` with sorted keys and fixed timestamps (reproducible bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.asarray(arrays[key]), allow_pickle=False)


def float_reference(tflite: bytes) -> bytes:
    """The TFLite model with every int8 weight replaced by its float32 dequantisation."""
    model = read_model(tflite)
    for index, tensor in enumerate(model.subgraphs[0].tensors):
        if tensor.type != schema.TensorType.INT8 or tensor.buffer == 0:
            continue
        values, scales, axis = _tensor(model, index)
        shape = [1] * values.ndim
        shape[axis] = scales.size
        dequantised = values.astype(np.float32) * scales.reshape(shape)
        model.buffers[tensor.buffer].data = np.frombuffer(dequantised.tobytes(), np.uint8)
        tensor.type = schema.TensorType.FLOAT32
        tensor.quantization = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main(argv: list[str]) -> None:
    """Converts ``argv[0]`` (TFLite) into ``argv[1]`` (npz) and prints the sha256."""
    source = Path(argv[0]) if argv else DEFAULT_TFLITE
    target = Path(argv[1]) if len(argv) > 1 else yamnet_weights.WEIGHTS_FILE
    write_npz(extract_weights(source.read_bytes()), target)
    print(f"{target}: {target.stat().st_size} bytes, sha256 {yamnet_weights.sha256_of(target)}")
    print(f"source {source}: sha256 {yamnet_weights.sha256_of(source)}")


if __name__ == "__main__":
    main(sys.argv[1:])
