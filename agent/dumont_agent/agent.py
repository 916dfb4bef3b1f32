"""The agent's life: heartbeat with the machine's readings, and carry out the actions the answers hand it.

Actions run one at a time in a worker thread, so heartbeats go on while a snapshot uploads. Each is
reported `running` before it starts and `completed` or `failed` when it ends; the workflow that
queued it waits for that report.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dumont_agent.client import AgentConfig, AgentError, ApiClient
from dumont_agent.host_metrics import HostMetrics
from dumont_agent.local_chunks import LocalChunks
from dumont_agent.logs import LogTail
from dumont_agent.snapshot import (
    COMPRESSIONS,
    Compression,
    Manifest,
    PackResult,
    PiecedManifest,
    SnapshotError,
    pack,
    restore,
    split_manifest,
)
from dumont_agent.ssh_keys import install_keys
from dumont_agent.unsaved import UnsavedMeter, saved_files
from dumont_agent.uploading import BatchedUploads

logger = logging.getLogger("dumont_agent")

__all__ = ["Agent", "AgentConfig", "AgentError", "ApiClient", "run_agent"]

DEFAULT_HEARTBEAT_SECONDS = 60


@dataclass
class Agent:
    config: AgentConfig
    client: ApiClient
    metrics: HostMetrics
    stop: threading.Event = field(default_factory=threading.Event)
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    _busy: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    _logs: LogTail | None = None
    _unsaved: UnsavedMeter | None = None
    _keys_installed: bool = False
    _keys_version: int | None = None
    """The version of the SSH key list installed, when the API said which."""
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        """Heartbeat until told to stop; a failed heartbeat is retried at the next interval."""
        self.config.workspace.mkdir(parents=True, exist_ok=True)
        while not self.stop.is_set():
            try:
                self.beat()
            except Exception:
                logger.exception("Heartbeat failed; trying again at the next interval")
            self.stop.wait(self.heartbeat_seconds)
        self._worker.shutdown(wait=True, cancel_futures=True)

    def beat(self) -> None:
        reading = self.metrics.read().as_heartbeat()
        try:
            reading.update(self._unsaved_meter().reading())
        except OSError:
            logger.warning("Could not measure what the last snapshot does not hold", exc_info=True)
        if self.config.instance_id:
            reading["instance_id"] = self.config.instance_id
        reading["ssh_keys_wanted"] = not self._keys_installed
        if self._keys_version is not None:
            # Behind the instance's (keys changed while this machine's agent missed it): answered the list.
            reading["ssh_keys_version"] = self._keys_version
        answer = self.client.heartbeat(reading)
        self.heartbeat_seconds = float(answer.get("next_heartbeat_in_seconds") or self.heartbeat_seconds)
        if answer.get("ssh_keys") is not None:
            try:
                self.authorize_keys({"keys": answer["ssh_keys"], "version": answer.get("ssh_keys_version")})
            except OSError:
                logger.warning("Could not install the instance's SSH keys; asking again", exc_info=True)
        for action in answer.get("actions", []):
            with self._lock:
                if action["id"] in self._busy:
                    continue
                self._busy.add(action["id"])
            self._worker.submit(self.carry_out, action)
        try:
            self.ship_logs()
        except Exception:
            # Lines not shipped are read again next time only if still unread: a lost batch is lost,
            # but heartbeats and actions never wait on logs.
            logger.warning("Could not ship log lines", exc_info=True)

    def ship_logs(self) -> None:
        if self._logs is None:
            self._logs = LogTail(list(self.config.log_files), self.config.state_dir / "log-positions")
        lines = self._logs.read()
        if lines:
            self.client.ship_logs(lines)
            self._logs.shipped()

    def carry_out(self, action: dict[str, Any]) -> None:
        action_id, kind = str(action["id"]), str(action.get("type"))
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "snapshot": self.take_snapshot,
            "restore": self.restore_snapshot,
            "authorize_keys": self.authorize_keys,
        }
        try:
            handler = handlers.get(kind)
            if handler is None:
                self.client.report(action_id, "failed", error=f"This agent does not know {kind!r} actions")
                return
            self.client.report(action_id, "running")
            logger.info("Carrying out %s %s", kind, action_id)
            result = handler(action)
        except (SnapshotError, AgentError, OSError) as error:
            logger.warning("%s %s failed: %s", kind, action_id, error)
            self._report_quietly(action_id, "failed", error=str(error) or type(error).__name__)
        except Exception as error:
            logger.exception("%s %s failed", kind, action_id)
            self._report_quietly(action_id, "failed", error=f"{type(error).__name__}: {error}")
        else:
            self._report_quietly(action_id, "completed", result=result)
        finally:
            with self._lock:
                self._busy.discard(action_id)

    def _report_quietly(
        self, action_id: str, status: str, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        try:
            self.client.report(action_id, status, result=result, error=error)
        except Exception:
            logger.exception(
                "Could not report %s on %s; the workflow will time out instead", status, action_id
            )

    def authorize_keys(self, action: dict[str, Any]) -> dict[str, Any]:
        """Install the list, unless it is older than the one installed: two changes made at once may be
        queued in the other order, and a heartbeat's list may cross an action's."""
        keys = [str(key) for key in action.get("keys") or []]
        version = action.get("version")
        with self._keys_lock:
            held = self._keys_version
            if isinstance(version, int) and held is not None and version < held:
                logger.info("Left aside SSH key list version %s: version %s is installed", version, held)
                return {"keys": len(keys), "left_aside": True, "installed_version": held}
            install_keys(self.config.authorized_keys, keys)
            self._keys_installed = True
            if isinstance(version, int):
                self._keys_version = version
        return {"keys": len(keys)}

    # Snapshots --------------------------------------------------------------------------------------

    @property
    def _last_manifest_path(self) -> Path:
        return self.config.state_dir / "last-manifest"

    def _last_manifest(self) -> Manifest | None:
        try:
            return Manifest.from_bytes(self._last_manifest_path.read_bytes())
        except (OSError, SnapshotError):
            return None

    def _remember(self, manifest: Manifest) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        partial = self._last_manifest_path.with_suffix(".partial")
        partial.write_bytes(manifest.to_bytes())
        partial.replace(self._last_manifest_path)
        self._unsaved_meter().snapshot_holds(manifest)

    def _unsaved_meter(self) -> UnsavedMeter:
        if self._unsaved is None:
            meter = UnsavedMeter(self.config.workspace)
            meter.saved = saved_files(self._last_manifest())
            self._unsaved = meter
        return self._unsaved

    def take_snapshot(self, action: dict[str, Any]) -> dict[str, Any]:
        snapshot_id = str(action["snapshot_id"])
        compression = _compression(action.get("compression", "lz4"))
        staging = self.config.state_dir / "staging" / snapshot_id
        started = time.perf_counter()
        try:
            previous = self._last_manifest()
            # Only its chunks are needed: its entries go before packing begins.
            known = previous.digests if previous else []
            known_sizes = previous.stored_sizes if previous else None
            del previous
            # Chunks are planned and uploaded a batch at a time while packing goes on.
            with BatchedUploads(self.client, snapshot_id, self.config.upload_workers) as uploads:
                packed = pack(
                    self.config.workspace,
                    staging,
                    known=known,
                    known_sizes=known_sizes,
                    compression=compression,
                    listener=uploads.chunk,
                )
                packed_at = time.perf_counter()
                pieced = split_manifest(packed.manifest)
                finished = uploads.finish([(piece.ref, piece.frame) for piece in pieced.pieces])
            uploaded = finished.uploaded_bytes
            if finished.lacking:
                # S3 lacks a chunk this machine took for stored (it was swept): stage everything.
                packed, pieced, more = self._pack_and_upload_all(snapshot_id, staging, compression)
                uploaded += more
            # Its pieces are uploaded with the chunks: the manifest is complete once it is put.
            self.client.put(finished.manifest_url, pieced.document)
            upload_seconds = time.perf_counter() - packed_at
            manifest = packed.manifest
            self._remember(manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return {
            "snapshot_id": snapshot_id,
            "size_bytes": manifest.total_bytes,
            "stored_bytes": packed.stored_bytes,
            "uploaded_bytes": uploaded,
            "file_count": manifest.file_count,
            "chunk_count": len(manifest.chunks),
            "upload_seconds": round(upload_seconds, 3),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def _pack_and_upload_all(
        self, snapshot_id: str, staging: Path, compression: Compression
    ) -> tuple[PackResult, PiecedManifest, int]:
        """Pack again with nothing taken for stored, plan the whole list, upload what S3 lacks."""
        shutil.rmtree(staging, ignore_errors=True)
        packed = pack(self.config.workspace, staging, compression=compression)
        pieced = split_manifest(packed.manifest)
        chunks = [
            {"digest": chunk.digest, "size": chunk.size, "stored_size": chunk.stored_size}
            for chunk in [*packed.manifest.chunks, *(piece.ref for piece in pieced.pieces)]
        ]
        plan = self.client.plan_uploads(snapshot_id, chunks)
        pieces = {piece.ref.digest: piece.frame for piece in pieced.pieces}

        def frame(digest: str) -> bytes:
            return pieces[digest] if digest in pieces else packed.frame(digest)

        return packed, pieced, self._upload(frame, plan["uploads"])

    def _upload(self, frame_of: Callable[[str], bytes], wanted: dict[str, str]) -> int:
        # One failed upload fails the snapshot: the chunks not started yet are not tried, each of which
        # would otherwise spend its retries against a network that is gone, past the workflow's timeout.
        failed = threading.Event()

        def upload(item: tuple[str, str]) -> int:
            if failed.is_set():
                return 0
            digest, url = item
            try:
                frame = frame_of(digest)
                self.client.put(url, frame)
            except BaseException:
                failed.set()
                raise
            return len(frame)

        with ThreadPoolExecutor(max_workers=self.config.upload_workers) as uploads:
            futures = [uploads.submit(upload, item) for item in wanted.items()]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                future.result()
        return sum(future.result() for future in futures if not future.cancelled())

    def restore_snapshot(self, action: dict[str, Any]) -> dict[str, Any]:
        snapshot_id = str(action["snapshot_id"])
        plan = self.client.plan_downloads(snapshot_id)
        urls: dict[str, str] = plan["chunks"]
        # What the workspace already holds of it (a standby catching up) is read from the disk.
        local = LocalChunks(self._last_manifest(), self.config.workspace)

        def fetch(digest: str) -> bytes:
            frame = local.frame(digest)
            if frame is not None:
                return frame
            url = urls.get(digest)
            if url is None:
                raise AgentError(f"the snapshot lists no chunk {digest}")
            return self.client.get(url)

        manifest = Manifest.from_bytes(self.client.get(str(plan["manifest_url"])), fetch)
        result = restore(manifest, fetch, self.config.workspace)
        self._remember(manifest)
        return {
            "snapshot_id": snapshot_id,
            "files": result.files,
            "bytes": result.bytes,
            "reused_bytes": local.reused_bytes,
            "seconds": result.seconds,
        }


def _compression(value: object) -> Compression:
    for compression in COMPRESSIONS:
        if value == compression:
            return compression
    raise SnapshotError(f"compression {value!r} is not one this agent offers ({', '.join(COMPRESSIONS)})")


def run_agent(
    config: AgentConfig,
    stop: threading.Event | None = None,
    metrics: HostMetrics | None = None,
    transport: httpx.BaseTransport | None = None,
) -> None:
    stop = stop or threading.Event()
    client = ApiClient(config, transport, stop)
    agent = Agent(
        config=config,
        client=client,
        metrics=metrics or HostMetrics(config.workspace),
        stop=stop,
    )
    try:
        agent.run()
    finally:
        client.close()
