"""Reads YAMNet's weights out of its TFLite conversion (``yamnet.tflite``), in Keras layouts.

The TFLite graph's tensor names are anonymised, so weights are matched to layers by operator
order: the first FULLY_CONNECTED is the mel filterbank (its bias is the 0.001 log offset), the
CONV_2D / DEPTHWISE_CONV_2D operators are YAMNet's 27 convolutions in order (their strides,
``SAME`` padding and fused ReLU are checked against ``yamnet.BLOCKS``), the last FULLY_CONNECTED
is the 521-way logits layer. Layouts become Keras's (conv OHWI → HWIO, depthwise ``[1, 3, 3, C]``
→ ``(3, 3, C, 1)``, dense ``[out, in]`` → ``(in, out)``). The int8 per-channel tensors (zero
points checked to be 0) are dequantised as TFLite does, ``float32(q) * scale``; batch
normalisation is already folded into the biases. ``float_reference`` rewrites the model with
every int8 tensor dequantised to float32: the interpreter then runs YAMNet in float (the file as
it is quantises activations on the fly), which is the reference of the parity tests.
"""

import flatbuffers
import numpy as np
from tensorflow.lite.python import schema_py_generated as schema

from components.audio import yamnet_frontend
from components.audio.yamnet_layout import BLOCKS, LOGITS, conv_layer_names

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


def _dequantised(model: schema.ModelT, index: int) -> np.ndarray:
    """A constant tensor's values as float32 (int8 ones times their per-channel scales)."""
    tensor = model.subgraphs[0].tensors[index]
    data = bytes(bytearray(model.buffers[tensor.buffer].data))
    values = np.frombuffer(data, _NUMPY_TYPES[tensor.type]).reshape(tensor.shape)
    if tensor.type != schema.TensorType.INT8:
        return values.astype(np.float32)
    quant = tensor.quantization
    if quant is None or quant.scale is None or np.any(np.asarray(quant.zeroPoint) != 0):
        raise ValueError(f"tensor {index} is int8 but not symmetric per-channel quantised")
    shape = [1] * values.ndim
    shape[quant.quantizedDimension] = len(quant.scale)
    return values.astype(np.float32) * np.asarray(quant.scale, np.float32).reshape(shape)


def extract_weights(tflite: bytes) -> dict[str, np.ndarray]:
    """YAMNet's float32 weights by Keras layer name, plus ``mel_matrix`` ``[257, 64]``."""
    model = read_model(tflite)
    ops = model.subgraphs[0].operators
    convs = [op for op in ops if _op_name(model, op) in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    dense = [op for op in ops if _op_name(model, op) == "FULLY_CONNECTED"]
    names = conv_layer_names()
    if len(convs) != len(names) or len(dense) != 2:
        raise ValueError(
            f"expected {len(names)} convolutions and 2 fully connected layers, found "
            f"{len(convs)} and {len(dense)}: not YAMNet"
        )
    strides = [
        block.stride if part != "pointwise" else 1
        for block in BLOCKS
        for part in (("conv",) if block.kind == "conv" else ("depthwise", "pointwise"))
    ]
    weights: dict[str, np.ndarray] = {}
    for name, stride, op in zip(names, strides, convs, strict=True):
        options = op.builtinOptions
        if (options.strideH, options.strideW, options.padding, options.fusedActivationFunction) != (
            stride,
            stride,
            schema.Padding.SAME,
            schema.ActivationFunctionType.RELU,
        ):
            raise ValueError(f"{name}: stride/padding/activation differ from YAMNet's")
        # OHWI → HWIO; for depthwise kernels the same transpose turns [1, 3, 3, C] into (3, 3, C, 1)
        kernel = _dequantised(model, op.inputs[1]).transpose(1, 2, 3, 0)
        weights[f"{name}.kernel"] = np.ascontiguousarray(kernel)
        weights[f"{name}.bias"] = _dequantised(model, op.inputs[2])
    mel, logits = dense
    if not np.allclose(_dequantised(model, mel.inputs[2]), yamnet_frontend.LOG_OFFSET):
        raise ValueError("the first fully connected layer is not the mel filterbank")
    weights["mel_matrix"] = np.ascontiguousarray(_dequantised(model, mel.inputs[1]).T)
    weights[f"{LOGITS}.kernel"] = np.ascontiguousarray(_dequantised(model, logits.inputs[1]).T)
    weights[f"{LOGITS}.bias"] = _dequantised(model, logits.inputs[2])
    return weights


def float_reference(tflite: bytes) -> bytes:
    """The TFLite model with every int8 weight replaced by its float32 dequantisation."""
    model = read_model(tflite)
    for index, tensor in enumerate(model.subgraphs[0].tensors):
        if tensor.type != schema.TensorType.INT8 or tensor.buffer == 0:
            continue
        dequantised = _dequantised(model, index)
        model.buffers[tensor.buffer].data = np.frombuffer(dequantised.tobytes(), np.uint8)
        tensor.type = schema.TensorType.FLOAT32
        tensor.quantization = None
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
