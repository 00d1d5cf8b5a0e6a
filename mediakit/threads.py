"""How the math libraries' worker threads wait, on cores they share with other work.

OpenMP runtimes (PyTorch's libgomp, CTranslate2's, Tesseract's) keep their idle worker
threads spinning for a while after each parallel region, to start the next one sooner. On a
worker whose cores also run the decoder's threads, another lane's stages or other processes,
that spinning is CPU taken from the work: a thread spins on a core while the thread it waits
for is not even running. The passive policy makes them sleep at once. It only helps the wall
time of many tiny regions on otherwise idle cores, which is not how an analysis runs
(bench/RESULTS.md, "shots": TransNetV2's CPU seconds with either policy).

The policy is read once, when a runtime is loaded, so :func:`prefer_passive_waits` must run
before the first import of torch (or of CTranslate2) in the process; the environment wins
when it sets ``OMP_WAIT_POLICY`` itself.
"""

from __future__ import annotations

import os

POLICY_VARIABLE = "OMP_WAIT_POLICY"


def prefer_passive_waits() -> bool:
    """Ask the OpenMP runtimes loaded from now on to let idle threads sleep, unless the
    environment chose a policy. Returns whether the policy is passive for a runtime loaded
    from now on (False: the environment chose another policy)."""
    chosen = os.environ.setdefault(POLICY_VARIABLE, "PASSIVE")
    return chosen.strip().upper() == "PASSIVE"
