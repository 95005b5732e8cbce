"""NumPy arrays ↔ ``TensorProto`` by hand, for the light client (no ``tf.make_tensor_proto``).

Covers the dtypes the served signatures use: string (``DT_STRING``, bytes per element in
``string_val``), float32, float64, int32, int64 and bool. Numeric arrays are sent as
little-endian ``tensor_content`` (what ``tf.make_tensor_proto`` does); replies are read from
``tensor_content`` or from the typed ``*_val`` field, which TF Serving fills by default, with
TensorFlow's rule that fewer values than elements repeat the last one (one value fills a tensor).
"""

import numpy as np

from serving.protos import tensor_pb2, tensor_shape_pb2, types_pb2

# DataType → (NumPy dtype, the TensorProto field its values use).
_NUMERIC = {
    types_pb2.DT_FLOAT: (np.dtype("<f4"), "float_val"),
    types_pb2.DT_DOUBLE: (np.dtype("<f8"), "double_val"),
    types_pb2.DT_INT32: (np.dtype("<i4"), "int_val"),
    types_pb2.DT_INT64: (np.dtype("<i8"), "int64_val"),
    types_pb2.DT_BOOL: (np.dtype("bool"), "bool_val"),
}
_BY_NUMPY = {dtype.newbyteorder("="): enum for enum, (dtype, _) in _NUMERIC.items()}
# TensorFlow's own names for the DataType values (``tf.dtypes.as_dtype(enum).name``).
DTYPE_NAMES = {
    types_pb2.DT_STRING: "string",
    types_pb2.DT_FLOAT: "float32",
    types_pb2.DT_DOUBLE: "float64",
    types_pb2.DT_INT32: "int32",
    types_pb2.DT_INT64: "int64",
    types_pb2.DT_BOOL: "bool",
}


def dtype_name(enum: int) -> str:
    """``DT_FLOAT`` → ``"float32"``; other types by their enum name (``DT_HALF`` → ``"half"``)."""
    return DTYPE_NAMES.get(enum) or types_pb2.DataType.Name(enum).removeprefix("DT_").lower()


def shape_proto(shape: tuple[int, ...]) -> tensor_shape_pb2.TensorShapeProto:
    """A ``TensorShapeProto`` for a known shape."""
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(size)) for size in shape]
    )


def to_tensor_proto(value) -> tensor_pb2.TensorProto:
    """An array (or nested list) → ``TensorProto``; strings/bytes become ``DT_STRING``.

    Raises:
        TypeError: For a dtype the served signatures never take.
    """
    array = np.asarray(value)
    if array.dtype.kind in "OSU":
        items = [item.encode() if isinstance(item, str) else bytes(item) for item in array.flat]
        return tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING, tensor_shape=shape_proto(array.shape), string_val=items
        )
    enum = _BY_NUMPY.get(array.dtype.newbyteorder("="))
    if enum is None:
        raise TypeError(f"no TensorProto conversion for dtype {array.dtype}")
    little = array.astype(_NUMERIC[enum][0], copy=False)
    return tensor_pb2.TensorProto(
        dtype=enum, tensor_shape=shape_proto(array.shape), tensor_content=little.tobytes()
    )


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """``TensorProto`` → array (``object`` array of ``bytes`` for strings).

    Raises:
        TypeError: For a dtype this module does not convert.
        ValueError: For more values than the shape holds, or a ``tensor_content`` of the wrong size.
    """
    shape = tuple(dim.size for dim in proto.tensor_shape.dim)
    size = int(np.prod(shape, dtype=np.int64))
    if proto.dtype == types_pb2.DT_STRING:
        values = np.empty(len(proto.string_val), dtype=object)
        values[:] = list(proto.string_val)
        return _fill(values, size, b"").reshape(shape)
    if proto.dtype not in _NUMERIC:
        raise TypeError(f"no conversion for {types_pb2.DataType.Name(proto.dtype)}")
    dtype, field = _NUMERIC[proto.dtype]
    if proto.tensor_content:
        if len(proto.tensor_content) != size * dtype.itemsize:
            raise ValueError(
                f"tensor_content holds {len(proto.tensor_content)} bytes, shape {shape} needs "
                f"{size * dtype.itemsize}"
            )
        return (
            np.frombuffer(proto.tensor_content, dtype)
            .astype(dtype.newbyteorder("="))
            .reshape(shape)
        )
    values = np.asarray(getattr(proto, field), dtype=dtype.newbyteorder("="))
    return _fill(values, size, 0).reshape(shape)


def _fill(values: np.ndarray, size: int, zero) -> np.ndarray:
    """TensorFlow's rule: no values is all zeros, fewer values than ``size`` repeat the last."""
    if len(values) > size:
        raise ValueError(f"{len(values)} values for a tensor of {size} elements")
    if len(values) == size:
        return values
    pad = values[-1] if len(values) else zero
    filled = np.empty(size, dtype=values.dtype)
    filled[: len(values)] = values
    filled[len(values) :] = pad
    return filled
