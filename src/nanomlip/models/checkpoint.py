"""Checkpoints (safetensors) and TorchScript export, both carrying their metadata.

Why safetensors: the file holds raw tensors plus a JSON header, so loading it
never executes pickled code, a truncated or corrupted file is detected by the
header/size check, and any tool can inspect it. The model configuration and the
metadata (species, cutoff, package version, distillation provenance) live in the
header as JSON strings.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from nanomlip._files import default_file_mode, temporary_file
from nanomlip.models.config import ModelConfig
from nanomlip.models.nano import NanoModel

CHECKPOINT_FORMAT = "nanomlip-checkpoint"
TORCHSCRIPT_FORMAT = "nanomlip-torchscript"
FORMAT_VERSION = 1
TORCHSCRIPT_METADATA_FILE = "nanomlip_metadata.json"

#: Provenance fields that distillation fills in; ``None`` for an untrained model.
PROVENANCE_FIELDS = (
    "teacher",
    "teacher_version",
    "task",
    "dataset",
    "dataset_sha256",
    "training",
)


#: Joins the names of several committed datasets in ``metadata["dataset"]`` of a model trained on
#: their union (``"distill-v5+distill-v7"``); the first is the one replayed against forgetting.
DATASET_SEPARATOR = "+"


def training_datasets(metadata: dict[str, Any]) -> list[str]:
    """Names of the datasets a model was trained on, primary first (empty when none)."""
    name = metadata.get("dataset")
    return [part for part in str(name).split(DATASET_SEPARATOR) if part] if name else []


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, truncated or incompatible."""


class UntrainedModelWarning(UserWarning):
    """A model file that records no training: its numbers test the pipeline, not physics."""


def is_untrained(metadata: dict[str, Any]) -> bool:
    """Whether ``metadata`` records neither a teacher nor a training run."""
    return not metadata.get("teacher") and not metadata.get("training")


def warn_if_untrained(metadata: dict[str, Any], source: str) -> None:
    """Warn (:class:`UntrainedModelWarning`) when the model from ``source`` was never trained."""
    if is_untrained(metadata):
        warnings.warn(
            f"{source!r} records no teacher and no training run: it looks like an UNTRAINED "
            "model, whose numbers test the pipeline, not physics",
            UntrainedModelWarning,
            stacklevel=3,
        )


def _package_version() -> str:
    from nanomlip._version import __version__

    return __version__


def model_metadata(model: NanoModel, **provenance: Any) -> dict[str, Any]:
    """Metadata describing ``model``: species, cutoff, version and provenance.

    Existing ``model.metadata`` entries are kept unless overridden by ``provenance``.
    """
    unknown = sorted(set(provenance) - set(PROVENANCE_FIELDS) - {"preset", "notes"})
    if unknown:
        raise ValueError(
            f"unknown metadata fields {unknown}; allowed: {list(PROVENANCE_FIELDS)} + preset, notes"
        )
    metadata: dict[str, Any] = {field: None for field in PROVENANCE_FIELDS}
    metadata.update(getattr(model, "metadata", {}) or {})
    metadata.update(provenance)
    metadata.update(
        species=model.species(),
        cutoff=model.cutoff,
        nanomlip_version=_package_version(),
        num_parameters=model.num_parameters(),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
    )
    metadata.setdefault(
        "created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    )
    return metadata


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        write(tmp)
        os.chmod(tmp, default_file_mode())  # writers may recreate the file with mode 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(model: NanoModel, path: str | os.PathLike, **provenance: Any) -> Path:
    """Save weights, configuration and metadata to a safetensors file.

    Args:
        model: The model.
        path: Destination file (conventionally ``*.safetensors``).
        **provenance: Metadata fields to set (see :data:`PROVENANCE_FIELDS`); they are
            also kept in ``model.metadata``, so that :func:`export_torchscript` of the same
            model carries them.

    Returns:
        The path written.
    """
    path = Path(path)
    tensors = {
        name: value.detach().cpu().contiguous() for name, value in model.state_dict().items()
    }
    metadata = model_metadata(model, **provenance)
    header = {
        "format": CHECKPOINT_FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(model.config.to_dict()),
        "metadata": json.dumps(metadata),
    }
    _atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=header))
    # The model now carries the provenance its file records, so a later export keeps it.
    model.metadata = {**(getattr(model, "metadata", {}) or {}), **provenance}
    return path


def _describe_foreign_file(path: Path) -> str:
    if zipfile.is_zipfile(path):
        names = zipfile.ZipFile(path).namelist()
        if any(name.endswith(f"extra/{TORCHSCRIPT_METADATA_FILE}") for name in names):
            return "it is a nanomlip TorchScript export; load it with load_torchscript()"
        return "it looks like a PyTorch pickle/TorchScript archive, not a nanomlip checkpoint"
    return "it is not a safetensors file (truncated, corrupted, or another format)"


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> NanoModel:
    """Load a checkpoint written by :func:`save_checkpoint` (no pickle is executed).

    Args:
        path: The ``.safetensors`` file.
        device: Where to put the model.

    Returns:
        The model in eval mode, with its metadata in ``model.metadata``.

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: The file is corrupt, truncated or incompatible.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            header = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r}: {_describe_foreign_file(path)} ({error})"
        ) from error
    if header.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is a safetensors file but not a nanomlip checkpoint "
            f"(format={header.get('format')!r})"
        )
    version = int(header.get("format_version", "0"))
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {version}, newer than this nanomlip "
            f"understands ({FORMAT_VERSION}); upgrade nanomlip"
        )
    try:
        config = ModelConfig.from_dict(json.loads(header["config"]))
        metadata = json.loads(header["metadata"])
    except (KeyError, json.JSONDecodeError, TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} has a damaged header: {error}") from error
    model = NanoModel(config)
    dtype = next(iter(tensors.values())).dtype if tensors else torch.float32
    model.to(dtype)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"{str(path)!r} does not match its own configuration "
            f"(was it written by another nanomlip version?): {error}"
        ) from error
    model.metadata = metadata
    warn_if_untrained(metadata, str(path))
    return model.to(device).eval()


def export_torchscript(model: NanoModel, path: str | os.PathLike, **provenance: Any) -> Path:
    """Compile ``model`` with TorchScript and save it with its metadata inside the file.

    The metadata is stored as the extra file ``nanomlip_metadata.json``.
    """
    path = Path(path)
    metadata = model_metadata(model, **provenance)
    metadata.update(
        format=TORCHSCRIPT_FORMAT,
        format_version=FORMAT_VERSION,
        config=model.config.to_dict(),
    )
    was_training = model.training
    with _quiet_torchscript_deprecation():
        scripted = torch.jit.script(model.eval())
    model.train(was_training)
    extra = {TORCHSCRIPT_METADATA_FILE: json.dumps(metadata)}

    def write(tmp: str) -> None:
        with _quiet_torchscript_deprecation():
            torch.jit.save(scripted, tmp, _extra_files=extra)

    _atomic_write(path, write)
    return path


@contextlib.contextmanager
def _quiet_torchscript_deprecation() -> Iterator[None]:
    """Silence torch's TorchScript deprecation notice for our deliberate use of it.

    TorchScript stays the format that LAMMPS plugins and C++ hosts load, so the
    notice is not actionable for our users.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.jit.*deprecated", category=DeprecationWarning
        )
        yield


def load_torchscript(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load a TorchScript export and check its metadata.

    Returns:
        ``(module, metadata)``.

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: Not a nanomlip TorchScript export, or damaged.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TorchScript file {str(path)!r} does not exist")
    extra = {TORCHSCRIPT_METADATA_FILE: ""}
    try:
        with _quiet_torchscript_deprecation():
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except (RuntimeError, ValueError) as error:
        raise CheckpointError(f"cannot load TorchScript file {str(path)!r}: {error}") from error
    try:
        metadata = json.loads(extra[TORCHSCRIPT_METADATA_FILE])
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"{str(path)!r} is TorchScript but carries no nanomlip metadata; it was not "
            "exported by nanomlip"
        ) from error
    if metadata.get("format") != TORCHSCRIPT_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a nanomlip TorchScript export")
    if int(metadata.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{str(path)!r} needs a newer nanomlip; upgrade nanomlip")
    warn_if_untrained(metadata, str(path))
    return module.eval(), metadata
