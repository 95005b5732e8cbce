"""Turn the runtime lock into the GPU image's: ``python gpu_lock.py requirements.lock GPU_LOCK``.

Rewrites ``requirements.lock`` (in the image's build stage only) without its ``tensorflow-cpu``
entry and with every entry of ``requirements-gpu.lock`` appended: the CUDA build of TensorFlow
and its pinned NVIDIA libraries, hash-checked like the rest (``pip install --require-hashes``).
The GPU TensorFlow must be the version the lock's ``tensorflow-cpu`` is, so the image's other
packages (tf.Transform, TF Serving API, Keras) stay the tested set.
"""

import re
import sys

REPLACED = "tensorflow-cpu"
REPLACEMENT = "tensorflow"


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``tensorflow_cpu`` → ``tensorflow-cpu``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(text: str) -> list[tuple[str, str, str]]:
    """``(canonical name, version, text)`` per requirement, its indented hash lines included."""
    found: list[tuple[str, str, str]] = []
    for line in text.splitlines(keepends=True):
        if line[:1].isspace() and found:
            name, version, block = found[-1]
            found[-1] = (name, version, block + line)
        elif line.strip() and not line.startswith("#"):
            name, version = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", line).groups()
            found.append((canonical(name), version, line))
    return found


def gpu_lock(lock_text: str, gpu_text: str) -> str:
    """The runtime lock with ``tensorflow-cpu`` replaced by the GPU lock's entries.

    Raises:
        ValueError: The GPU lock's TensorFlow is not the lock's ``tensorflow-cpu`` version, or
            either lock lacks it.
    """
    runtime, gpu = entries(lock_text), entries(gpu_text)
    cpu = {name: version for name, version, _ in runtime}.get(REPLACED)
    cuda = {name: version for name, version, _ in gpu}.get(REPLACEMENT)
    if cpu is None or cuda != cpu:
        raise ValueError(f"GPU lock has {REPLACEMENT}=={cuda}, the lock {REPLACED}=={cpu}")
    kept = [block for name, _, block in runtime if name != REPLACED]
    return "".join(kept + [block for _, _, block in gpu])


if __name__ == "__main__":
    lock, gpu = sys.argv[1:3]
    with open(lock, encoding="utf-8") as handle, open(gpu, encoding="utf-8") as extra:
        text = gpu_lock(handle.read(), extra.read())
    with open(lock, "w", encoding="utf-8") as handle:
        handle.write(text)
