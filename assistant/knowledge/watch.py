"""Index watching: reload by itself when a new index is published.

Every worker and replica that shares an index folder and sets ASSISTANT_WATCH_INDEX_SECONDS
polls where the `current` link points and, when it moves, loads the new version next to the
serving one and swaps it in (`Assistant.reload`). No signal or admin call has to reach every
process. A version that fails to load is refused once, with a log line, and the previous one
keeps serving until `current` moves again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.knowledge import index as ix
from assistant.core.errors import AssistantError

log = logging.getLogger(__name__)


class IndexWatcher:
    """Polls `current` under the assistant's index root every `interval` seconds."""

    def __init__(self, assistant, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.assistant = assistant
        self.interval = interval
        self._refused: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "IndexWatcher":
        self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)
        self._thread.start()
        log.info("watching %s for new index versions every %.1f s",
                 self.assistant.settings.index_dir, self.interval)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def check(self) -> bool:
        """One poll: True when a new version was loaded and is now serving."""
        try:
            target = ix.current_path(self.assistant.settings.index_dir)
        except OSError as exc:
            log.warning("index watch: cannot read the current link: %s", exc)
            return False
        serving = self.assistant.index.path if self.assistant.index else None
        if target is None or target == serving or target == self._refused:
            return False
        try:
            changed = self.assistant.reload()
        except AssistantError as exc:
            self._refused = target
            log.error("index watch: new index %s refused, previous one keeps serving: %s",
                      target.name, exc)
            return False
        self._refused = None
        if changed:
            log.info("index watch: new index %s serving", target.name)
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive any one poll
                log.exception("index watch: poll failed")
