"""``household-sounds listen``: live audio classified in real time against TF Serving.

A source yields mono float32 blocks: ``MicrophoneSource`` records through PortAudio
(``sounddevice``, imported only when used) and ``FileSource`` streams a file at real-time pace
(``speed`` times faster for tests and replays). ``windows`` cuts the stream into the model's 5 s
window ending at every hop (shorter at the start, as the model pads short clips; plus one for a
file's remainder), each window goes to the server as a 16-bit PCM WAV, and every prediction is
shown (a live line on a terminal, JSON lines otherwise) and checked for alerts
(``serving/alerts.py``). When a microphone outruns the server, hops that are already stale are
skipped, not queued: the newest window is always the one classified.
"""

import io
import json
import logging
import math
import queue
import sys
import time
import wave
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from serving.alerts import Alerter, Webhook
from serving.client import Prediction
from serving.status import ServingError

WINDOW_S = 5.0  # the served model's clip length (components.audio.waveform.CLIP_SECONDS)
TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED")
METER_WIDTH = 10
METER_FLOOR_DB = -60.0


class ListenError(Exception):
    """A source that cannot be opened (no audio device, unreadable file)."""


@dataclass(frozen=True)
class Window:
    """One window to classify.

    Attributes:
        start_s: Stream time of its first sample.
        end_s: Stream time just after its last sample (a hop boundary).
        samples: Mono float32 samples.
        level_dbfs: RMS level of the newest hop, in dB full scale.
        skipped: Hops dropped just before this one because the classifier fell behind.
    """

    start_s: float
    end_s: float
    samples: np.ndarray
    level_dbfs: float
    skipped: int = 0


def encode_wav(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples in [-1, 1] → a 16-bit PCM WAV file."""
    pcm = np.clip(np.round(np.asarray(samples, np.float64) * 32767), -32768, 32767)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB full scale (floored at -120 for silence)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return max(20 * math.log10(rms), -120.0) if rms > 0 else -120.0


def windows(
    blocks: Iterable[np.ndarray], rate: int, hop_s: float, window_s: float = WINDOW_S
) -> Iterator[Window]:
    """The window ending at each hop boundary of a block stream (and at its end, if audio is left).

    A block that crosses several boundaries at once (a microphone's backlog) yields only the
    newest window and counts the others in ``skipped``.
    """
    hop = max(1, round(hop_s * rate))
    size = max(1, round(window_s * rate))
    buffer = np.zeros(0, np.float32)
    total = 0  # samples received
    emitted = 0  # samples up to the last emitted window's end
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])[-(size + hop) :]
        total += len(block)
        boundaries = (total - emitted) // hop
        if boundaries:
            end = emitted + boundaries * hop
            yield _window(buffer, total, end, rate, size, hop, boundaries - 1)
            emitted = end
    if total > emitted:
        yield _window(buffer, total, total, rate, size, total - emitted, 0)


def _window(buffer, total, end, rate, size, hop, skipped) -> Window:
    newest = buffer[: len(buffer) - (total - end)] if total > end else buffer
    samples = newest[-size:]
    return Window(
        (end - len(samples)) / rate, end / rate, samples, level_dbfs(newest[-hop:]), skipped
    )


class FileSource:
    """An audio file streamed in blocks at ``speed`` × real time (any libsndfile format)."""

    def __init__(self, path: str, speed: float = 1.0, block_s: float = 0.05):
        """Opens the file.

        Raises:
            ListenError: If it cannot be read (or soundfile is not installed).
        """
        try:
            import soundfile
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ListenError(f"--file needs soundfile: pip install soundfile ({error})") from None
        if speed <= 0:
            raise ListenError(f"--speed must be positive, got {speed}")
        try:
            self._file = soundfile.SoundFile(path)
        except (RuntimeError, OSError) as error:  # soundfile raises LibsndfileError(RuntimeError)
            raise ListenError(f"cannot read {path}: {error}") from None
        self.name = path
        self.sample_rate = self._file.samplerate
        self.speed = speed
        self.block = max(1, round(block_s * self.sample_rate))

    def __iter__(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        sent = 0
        with self._file:
            for block in self._file.blocks(self.block, dtype="float32", always_2d=True):
                delay = start + sent / self.sample_rate / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent += len(block)
                yield block.mean(axis=1)


class MicrophoneSource:
    """The default (or a chosen) input device through PortAudio, mono, ``rate`` Hz."""

    def __init__(self, rate: int = 16000, device: str | int | None = None, block_s: float = 0.1):
        """Opens the input stream.

        Raises:
            ListenError: If PortAudio or an input device is missing, with what to do instead.
        """
        try:
            import sounddevice
        except (ImportError, OSError) as error:
            raise ListenError(
                f"no microphone support ({error}); install PortAudio (e.g. apt-get install "
                "libportaudio2) and `pip install sounddevice`, or use --file"
            ) from None
        self.name = "microphone"
        self.sample_rate = rate
        self._queue: queue.Queue = queue.Queue()
        try:
            self._stream = sounddevice.InputStream(
                samplerate=rate,
                channels=1,
                dtype="float32",
                device=device,
                blocksize=max(1, round(block_s * rate)),
                callback=lambda data, frames, when, status: self._queue.put(data[:, 0].copy()),
            )
        except (sounddevice.PortAudioError, ValueError) as error:
            raise ListenError(f"cannot open an input device ({error}); use --file") from None

    def __iter__(self) -> Iterator[np.ndarray]:
        with self._stream:
            while True:
                blocks = [self._queue.get()]
                while not self._queue.empty():  # a backlog arrives as one block
                    blocks.append(self._queue.get_nowait())
                yield np.concatenate(blocks)


class Display:
    """Predictions as one live line on a terminal, or as JSON lines when piped."""

    def __init__(self, class_names, stream=None, tty: bool | None = None):
        self.class_names = list(class_names)
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self._live = False

    def prediction(self, window: Window, prediction: Prediction) -> None:
        """Shows one prediction."""
        confidence = max(prediction.probabilities)
        if not self.tty:
            record = {
                "event": "prediction",
                "start_s": round(window.start_s, 3),
                "end_s": round(window.end_s, 3),
                "level_dbfs": round(window.level_dbfs, 1),
                "confidence": round(confidence, 4),
                **prediction.to_json(self.class_names),
            }
            self._line(json.dumps(record))
            return
        filled = round(METER_WIDTH * min(1.0, max(0.0, 1 - window.level_dbfs / METER_FLOOR_DB)))
        meter = "█" * filled + "·" * (METER_WIDTH - filled)
        self.stream.write(
            f"\r\x1b[2K{window.end_s:7.1f} s  {prediction.class_name:<9} {confidence:4.0%}  "
            f"[{meter}] {window.level_dbfs:6.1f} dBFS"
        )
        self.stream.flush()
        self._live = True

    def event(self, record: dict) -> None:
        """Prints a JSON event (an alert) on its own line."""
        self._line(json.dumps(record))

    def _line(self, text: str) -> None:
        if self._live:
            self.stream.write("\n")
            self._live = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Ends the live line."""
        if self._live:
            self.stream.write("\n")
            self._live = False


@dataclass
class Summary:
    """What one ``listen`` session did (printed to stderr at the end)."""

    predictions: int = 0
    alerts: int = 0
    skipped_hops: int = 0
    transient_errors: int = 0


def listen(
    source,
    classify: Callable[[bytes], Prediction],
    hop_s: float,
    display: Display,
    alerter: Alerter | None = None,
    webhook: Webhook | None = None,
) -> Summary:
    """Classifies ``source`` window by window until it ends (or Ctrl-C).

    Raises:
        ServingError: When the server rejects a request (not for transient unavailability,
            which is logged and retried at the next hop).
    """
    summary = Summary()
    try:
        for window in windows(source, source.sample_rate, hop_s):
            summary.skipped_hops += window.skipped
            try:
                prediction = classify(encode_wav(window.samples, source.sample_rate))
            except ServingError as error:
                if error.code not in TRANSIENT:
                    raise
                summary.transient_errors += 1
                logging.warning("%s at %.1f s: %s", error.code, window.end_s, error.message)
                continue
            summary.predictions += 1
            display.prediction(window, prediction)
            events = (
                alerter.check(prediction, window.start_s, window.end_s, source.name)
                if (alerter)
                else []
            )
            for event in events:
                event["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                summary.alerts += 1
                display.event(event)
                if webhook:
                    webhook.post(event)
    except KeyboardInterrupt:
        pass
    finally:
        display.close()
        if webhook:
            webhook.close()
    return summary
