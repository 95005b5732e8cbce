"""Alert events for ``household-sounds listen``: which predictions raise one, and where it goes.

``Alerter`` turns a prediction into alert events: one per watched class whose probability reaches
the threshold, at most one per class every ``debounce_s`` seconds of stream time (the audio's
own clock, so a file replayed faster debounces exactly as the live sound would). ``Webhook``
POSTs each event as JSON from a background thread, so a slow or dead endpoint never stalls
listening; failures are logged and dropped.
"""

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from components.artifacts.signature import CLASS_NAME
from serving.client import Prediction


@dataclass(frozen=True)
class AlertRule:
    """When to alert.

    Attributes:
        classes: Watched class names (e.g. ``("human", "alarm")``).
        threshold: Minimum probability of a watched class.
        debounce_s: Seconds of stream time after an alert before that class alerts again.
    """

    classes: tuple[str, ...]
    threshold: float = 0.6
    debounce_s: float = 10.0


@dataclass
class Alerter:
    """Applies an ``AlertRule`` to successive predictions of one stream."""

    rule: AlertRule
    class_names: Sequence[str]
    last_alert_s: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.rule.classes) - set(self.class_names)
        if unknown:
            raise ValueError(f"unknown alert classes {sorted(unknown)}; known: {self.class_names}")

    def check(
        self, prediction: Prediction, start_s: float, end_s: float, source: str
    ) -> list[dict]:
        """The alert events this prediction raises (empty when none, or debounced)."""
        events = []
        for name in self.rule.classes:
            confidence = prediction.probabilities[list(self.class_names).index(name)]
            last = self.last_alert_s.get(name)
            if confidence < self.rule.threshold or (
                last is not None and end_s - last < self.rule.debounce_s
            ):
                continue
            self.last_alert_s[name] = end_s
            events.append(
                {
                    "event": "alert",
                    CLASS_NAME: name,
                    "confidence": float(confidence),
                    "threshold": self.rule.threshold,
                    "start_s": round(start_s, 3),
                    "end_s": round(end_s, 3),
                    "predicted_class": prediction.class_name,
                    "source": source,
                }
            )
        return events


class Webhook:
    """POSTs JSON events to a URL in the background; errors are logged, never raised."""

    def __init__(self, url: str, timeout_s: float = 5.0):
        """Starts the sender thread.

        Args:
            url: ``http(s)://`` endpoint receiving one JSON object per POST.
            timeout_s: Timeout per POST.
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s)://, got {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def post(self, event: dict) -> None:
        """Queues an event for sending."""
        self._queue.put(event)

    def close(self, wait_s: float = 10.0) -> None:
        """Sends what is queued (waiting at most ``wait_s``) and stops the thread."""
        self._queue.put(None)
        self._thread.join(wait_s)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            request = urllib.request.Request(
                self.url,
                data=json.dumps(event).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s):
                    self.sent += 1
            except (urllib.error.URLError, OSError, ValueError) as error:
                self.failed += 1
                logging.warning("webhook %s: %s (event dropped)", self.url, error)
