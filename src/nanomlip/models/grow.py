r"""Function-preserving growth of a trained student (angular order, self-connections).

A student with ``l <= 1`` node features sees the angles around an atom only through
:math:`\cos\theta` (the ``1o x 1o -> 0e`` path of the last block), and on a site of
cubic symmetry not at all. :func:`grow_model` turns a trained checkpoint into one with
larger ``lmax`` (node features) and ``sh_lmax`` (edge harmonics), and/or per-element
self-connections (every element starts from the shared one), that computes *the same*
energies, forces and stresses, so that fine-tuning starts from the trained model instead
of from scratch (the Net2Net idea, Chen et al. 2016, for equivariant blocks).

Every parameter of the old model is copied into the matching block of the new one. The
new paths get their usual random initialisation except at one place: the weights from
the new paths of the last block into its scalar output are zero. Each new chain
(harmonic -> first block -> gate -> last block -> energy) then has exactly one zero
factor: the function is unchanged, yet the gradient of that factor is the product of
the others and is not zero, so the new paths start learning at the first step.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import torch
from e3nn import o3

from nanomlip.models.nano import NanoModel
from nanomlip.nn.interaction import Interaction

#: Fields of :class:`~nanomlip.models.config.ModelConfig` that growth may raise.
GROWABLE_FIELDS = (
    "lmax",
    "sh_lmax",
    "species_self_connection",
    "species_pair_radial",
    "message_products",
)


def grow_model(model: NanoModel, seed: int = 0, **overrides: int | bool) -> NanoModel:
    """A copy of ``model``, grown in angular order or self-connection, with the same function.

    Args:
        model: The trained student.
        seed: Seed of the random initialisation of the new paths.
        **overrides: New values of ``lmax``, ``sh_lmax``, ``species_self_connection``
            (False -> True: every element starts from the shared self-connection) and/or
            ``species_pair_radial`` (False -> True: the per-element tables start at
            zero) and/or ``message_products`` (False -> True: their output map starts
            at zero); other fields may be given only with the model's own values.

    Returns:
        The grown model (same dtype and device as ``model``, eval mode), with the
        metadata of ``model`` plus ``metadata["grown_from"]`` (the old configuration).
        ``model`` itself is returned when nothing changes.

    Raises:
        ValueError: A field other than those of :data:`GROWABLE_FIELDS` differs, one of
            them would shrink, or a key is unknown.
    """
    old_config = model.config
    known = {field.name for field in dataclasses.fields(old_config)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown model configuration keys {unknown}; known keys: {sorted(known)}")
    changed = {name for name, value in overrides.items() if getattr(old_config, name) != value}
    for switch in ("species_self_connection", "species_pair_radial", "message_products"):
        if not isinstance(overrides.get(switch, False), bool):
            raise ValueError(f"{switch} must be true or false")
    fixed = sorted(changed - set(GROWABLE_FIELDS))
    if fixed:
        values = {name: (getattr(old_config, name), overrides[name]) for name in fixed}
        raise ValueError(
            f"a trained model can only grow {list(GROWABLE_FIELDS)}, but {values} "
            "(old, new) would change: train a new model instead (no init_from)"
        )
    shrinking = sorted(name for name in changed if overrides[name] < getattr(old_config, name))
    if shrinking:
        raise ValueError(f"{shrinking} can only grow (old {old_config}, asked {overrides})")
    if not changed:
        return model

    grown_values: dict[str, Any] = {name: overrides[name] for name in changed}
    new_config = dataclasses.replace(old_config, **grown_values)
    parameter = next(model.parameters())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        grown = NanoModel(new_config).to(dtype=parameter.dtype, device=parameter.device)
    metadata = dict(getattr(model, "metadata", {}) or {})
    grown.metadata = {**metadata, "grown_from": old_config.to_dict()}
    with torch.no_grad():
        _copy_same_shape(model, grown)
        for old_layer, new_layer in zip(model.layers, grown.layers):
            _grow_interaction(cast(Interaction, old_layer), cast(Interaction, new_layer))
    return grown.eval()


def _copy_same_shape(old: NanoModel, new: NanoModel) -> None:
    """Copy everything outside the blocks (embedding, radial basis, readout, buffers)."""
    new_state = new.state_dict()
    for name, value in old.state_dict().items():
        if not name.startswith("layers."):
            new_state[name].copy_(value)


def _grow_interaction(old: Interaction, new: Interaction) -> None:
    nodes = (_irrep_keys(old.irreps_in), _irrep_keys(new.irreps_in))
    gates = (_gate_input_keys(old.gate.irreps_in), _gate_input_keys(new.gate.irreps_in))
    paths = (old.tensor_product.path_keys, new.tensor_product.path_keys)
    _grow_linear(
        old.linear_in, old.linear_in.weight, new.linear_in, new.linear_in.weight, nodes, nodes
    )
    _grow_linear(*_self_connection(old), *_self_connection(new), nodes, gates)
    _grow_linear(
        old.linear_out, old.linear_out.weight, new.linear_out, new.linear_out.weight, paths, gates
    )

    new.radial_mlp.layer_in.load_state_dict(old.radial_mlp.layer_in.state_dict())
    if old.radial_mlp.species_pair is not None:
        assert new.radial_mlp.species_pair is not None  # growth never turns it off
        new.radial_mlp.species_pair.load_state_dict(old.radial_mlp.species_pair.state_dict())
    if old.message_products is not None:
        assert new.message_products is not None  # growth never turns them off
        if old.tensor_product.irreps_out != new.tensor_product.irreps_out:
            raise ValueError(
                "a model with message_products cannot grow lmax or sh_lmax (its products "
                "are sized for the old message): grow them first, then turn on message_products"
            )
        new.message_products.load_state_dict(old.message_products.state_dict())
    old_rows = _path_rows(old.tensor_product)
    new_rows = _path_rows(new.tensor_product)
    for key, rows in old_rows.items():
        new.radial_mlp.layer_out.weight[new_rows[key]] = old.radial_mlp.layer_out.weight[rows]


def _grow_linear(
    old: o3.Linear,
    old_weight: torch.Tensor,
    new: o3.Linear,
    new_weight: torch.Tensor,
    in_keys: tuple[list[str], list[str]],
    out_keys: tuple[list[str], list[str]],
) -> None:
    """Copy ``old`` into ``new`` so that nothing new reaches an output channel ``old`` had.

    Instructions are matched by the keys of their input and output entries (``(old,
    new)`` key lists; the old channels are the first channels of an entry that grew).
    Copied weights are rescaled by the ratio of e3nn's path normalisations, since a new
    input path raises the fan-in of an existing output. The weights are ``(numel,)`` or,
    species-wise, ``(num_species, numel)``; a shared old map fills every species' row.
    """
    in_old, in_new = in_keys
    out_old, out_new = out_keys
    old_blocks = {
        (in_old[ins.i_in], out_old[ins.i_out]): (ins, view)
        for _, ins, view in old.weight_views(weight=old_weight, yield_instruction=True)
    }
    old_out_mul = {key: old.irreps_out[index].mul for index, key in enumerate(out_old)}
    for _, ins, view in new.weight_views(weight=new_weight, yield_instruction=True):
        in_key, out_key = in_new[ins.i_in], out_new[ins.i_out]
        if out_key in old_out_mul:
            view[..., : old_out_mul[out_key]] = 0.0
        match = old_blocks.get((in_key, out_key))
        if match is not None:
            old_ins, old_view = match
            rows, cols = old_view.shape[-2:]
            view[..., :rows, :cols] = old_view * (old_ins.path_weight / ins.path_weight)


def _self_connection(block: Interaction) -> tuple[o3.Linear, torch.Tensor]:
    """The self-connection's e3nn linear and its weights (per species or shared)."""
    if block.species_self_connection is not None:
        return block.species_self_connection.linear, block.species_self_connection.weight
    assert block.self_connection is not None
    return block.self_connection, block.self_connection.weight


def _irrep_keys(irreps: o3.Irreps) -> list[str]:
    """Node feature entries have one irrep each (``0e``, ``1o``, ``2e``, ``3o``)."""
    return [str(ir) for _, ir in irreps]


def _gate_input_keys(irreps: o3.Irreps) -> list[str]:
    """Entries of ``[scalars | gates | gated]``: the last ``0e`` entry holds the gates."""
    keys = [str(ir) if ir.l > 0 else f"scalars{index}" for index, (_, ir) in enumerate(irreps)]
    last_scalar = max(index for index, (_, ir) in enumerate(irreps) if ir.l == 0)
    keys[last_scalar] = "gates"
    return keys


def _path_rows(tensor_product) -> dict[str, slice]:
    """Rows of the radial MLP's output layer that feed each tensor-product path."""
    rows: dict[str, slice] = {}
    offset = 0
    for key, size in zip(tensor_product.path_keys, tensor_product.path_weight_sizes):
        rows[key] = slice(offset, offset + size)
        offset += size
    return rows


__all__ = ["GROWABLE_FIELDS", "grow_model"]
