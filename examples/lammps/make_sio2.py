"""Write an amorphous SiO2 LAMMPS data file (types 1 = O, 2 = Si) for ``in.sio2_nvt``.

Usage: ``python examples/lammps/make_sio2.py ATOMS OUT.data`` (nearest achievable size,
2.2 g/cm³ random packing from :func:`nanomlip.bench.systems.amorphous_sio2`).
"""

import sys

from nanomlip.bench.systems import build_system
from nanomlip.integrations.lammps_run import write_data

if __name__ == "__main__":
    atoms = build_system("sio2", int(sys.argv[1]))
    write_data(atoms, sys.argv[2], ["O", "Si"])
    print(f"wrote {sys.argv[2]}: {len(atoms)} atoms")
