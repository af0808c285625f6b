"""The 20 Li-ion electrolyte solvents of ``nanomlip bench liquid-electrolytes``, and their boxes.

Each solvent has a SMILES string and an experimental liquid density at a reference
temperature (298.15 K, or above the melting point for EC), with its source. Carbonates,
lactones and ethers are from the solvent table of K. Xu, Chem. Rev. 104, 4303 (2004),
the rest from the CRC Handbook of Chemistry and Physics; entries with ``check_source``
quote a value that was not re-read from the source when this table was written
(issue #12) and must be checked before the comparison is cited.

:func:`build_box` packs copies of one RDKit conformer into a periodic cube at the
experimental density with packmol (the same helpers the liquid sampler uses).
"""

from __future__ import annotations

from dataclasses import dataclass

from ase import Atoms

_XU_2004 = "K. Xu, Chem. Rev. 104, 4303 (2004), Table 1 (25 °C)"
_CRC = "CRC Handbook of Chemistry and Physics, 97th ed. (25 °C)"


@dataclass(frozen=True)
class Solvent:
    """One solvent.

    Attributes:
        name: Short name (e.g. ``"EC"``).
        smiles: Its SMILES string (hydrogens implicit).
        family: ``"cyclic carbonate"``, ``"linear carbonate"``, ``"ester"``, ``"ether"``,
            ``"nitrile"`` or ``"other"``.
        density_exp_g_cm3: Experimental liquid density at ``temperature_K``, in g/cm³.
        temperature_K: Reference temperature of the density and of the NPT run, in K.
        source: Where the density comes from.
        check_source: The value still has to be checked against the source.
    """

    name: str
    smiles: str
    family: str
    density_exp_g_cm3: float
    temperature_K: float
    source: str
    check_source: bool = False


SOLVENTS: dict[str, Solvent] = {
    s.name: s
    for s in (
        Solvent(
            "EC",
            "O=C1OCCO1",
            "cyclic carbonate",
            1.321,
            313.15,
            "K. Xu, Chem. Rev. 104, 4303 (2004), Table 1 (40 °C; EC melts at 36.4 °C)",
        ),
        Solvent("PC", "CC1COC(=O)O1", "cyclic carbonate", 1.200, 298.15, _XU_2004),
        Solvent("FEC", "O=C1OCC(F)O1", "cyclic carbonate", 1.454, 298.15, _CRC, True),
        Solvent("VC", "O=C1OC=CO1", "cyclic carbonate", 1.355, 298.15, _CRC, True),
        Solvent("DMC", "COC(=O)OC", "linear carbonate", 1.063, 298.15, _XU_2004),
        Solvent("DEC", "CCOC(=O)OCC", "linear carbonate", 0.969, 298.15, _XU_2004),
        Solvent("EMC", "CCOC(=O)OC", "linear carbonate", 1.006, 298.15, _XU_2004),
        Solvent("GBL", "O=C1CCCO1", "ester", 1.199, 298.15, _XU_2004),
        Solvent("MA", "CC(=O)OC", "ester", 0.927, 298.15, _CRC, True),
        Solvent("EA", "CCOC(C)=O", "ester", 0.894, 298.15, _CRC, True),
        Solvent("MP", "CCC(=O)OC", "ester", 0.909, 298.15, _CRC, True),
        Solvent("EP", "CCC(=O)OCC", "ester", 0.884, 298.15, _CRC, True),
        Solvent("DME", "COCCOC", "ether", 0.86, 298.15, _XU_2004),
        Solvent("DOL", "C1COCO1", "ether", 1.06, 298.15, _XU_2004),
        Solvent("THF", "C1CCOC1", "ether", 0.88, 298.15, _XU_2004),
        Solvent("2-MeTHF", "CC1CCCO1", "ether", 0.85, 298.15, _XU_2004),
        Solvent("diglyme", "COCCOCCOC", "ether", 0.939, 298.15, _CRC, True),
        Solvent("AN", "CC#N", "nitrile", 0.777, 298.15, _CRC, True),
        Solvent("PN", "CCC#N", "nitrile", 0.777, 298.15, _CRC, True),
        Solvent("DMSO", "CS(C)=O", "other", 1.096, 298.15, _CRC, True),
    )
}


def molecule_count(solvent: Solvent, target_atoms: int) -> int:
    """Number of molecules whose atoms come closest to ``target_atoms`` (at least 2)."""
    from nanomlip.sampling.molecules import smiles_symbols

    per_molecule = len(smiles_symbols(solvent.smiles))
    return max(2, round(target_atoms / per_molecule))


def build_box(solvent: Solvent, molecules: int, seed: int = 0) -> Atoms:
    """A periodic cube of ``molecules`` copies of ``solvent`` at its experimental density.

    The molecule is an RDKit ETKDG conformer optimised with MMFF94; packmol places the
    copies at least 2 Å apart (random insertion when packmol is missing or fails).

    Raises:
        ValueError: If the SMILES cannot be parsed or ``molecules`` < 1.
    """
    import numpy as np

    from nanomlip.sampling.molecules import embed_smiles
    from nanomlip.sampling.packing import box_length, find_packmol, pack_randomly, pack_with_packmol

    if molecules < 1:
        raise ValueError(f"a box needs at least one molecule, got {molecules}")
    template = embed_smiles(solvent.smiles, seed)
    length = box_length([template] * molecules, [solvent.density_exp_g_cm3] * molecules)
    executable = find_packmol()
    atoms = None
    if executable:
        atoms = pack_with_packmol(executable, [template], [molecules], length, 2.0, seed)
    if atoms is None:
        atoms = pack_randomly([template], [molecules], length, 2.0, np.random.default_rng(seed))
    atoms.info["name"] = solvent.name
    atoms.info["molecules"] = molecules
    return atoms
