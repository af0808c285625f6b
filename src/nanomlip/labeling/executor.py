"""One executor for chunk jobs: in this process, a pool of local processes, or a Dask cluster.

Every labelling job (teacher labels, teacher HVPs) is a function ``job(*args, chunk_id)``
that writes one chunk atomically and returns a small summary. :func:`run_chunk_jobs`
calls it for each pending chunk wherever the user asked, and hands each summary to a
``record`` callback as it comes in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from nanomlip._progress import progress_bar as shared_progress_bar

#: Where chunk jobs can run.
SCHEDULERS = ("processes", "dask")


def run_chunk_jobs(
    job: Callable[..., Any],
    args: tuple[Any, ...],
    todo: list[int],
    workers: int,
    record: Callable[[Any], None],
    scheduler: str = "processes",
    dask_address: str | None = None,
) -> None:
    """Call ``job(*args, chunk_id)`` for every chunk of ``todo`` and ``record`` each result.

    Args:
        job: A picklable module-level function that writes one chunk.
        args: Its leading arguments (plain strings: they travel to other processes).
        todo: Chunk ids to run.
        workers: Worker processes (``processes``) or local Dask workers.
        record: Called with each job's result, in completion order.
        scheduler: ``"processes"`` (in this process when ``workers == 1``, else a pool of
            spawned processes that share the cores and stop when this process dies) or
            ``"dask"`` (a local Dask cluster, or the one at ``dask_address``).
        dask_address: Address of an existing Dask scheduler.

    Raises:
        ValueError: An unknown scheduler, or ``dask`` without ``dask.distributed``.
    """
    if scheduler == "dask":
        _run_dask(job, args, todo, workers, dask_address, record)
    elif scheduler == "processes":
        _run_processes(job, args, todo, workers, record)
    else:
        raise ValueError(f"unknown scheduler {scheduler!r}; use processes or dask")


def _run_processes(
    job: Callable[..., Any],
    args: tuple[Any, ...],
    todo: list[int],
    workers: int,
    record: Callable[[Any], None],
) -> None:
    if workers == 1:
        for chunk_id in todo:
            record(job(*args, chunk_id))
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_process_worker,
        initargs=(threads, os.getpid()),
    ) as pool:
        futures = [pool.submit(job, *args, chunk_id) for chunk_id in todo]
        for future in as_completed(futures):
            record(future.result())


def _run_dask(
    job: Callable[..., Any],
    args: tuple[Any, ...],
    todo: list[int],
    workers: int,
    address: str | None,
    record: Callable[[Any], None],
) -> None:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_as_completed
    except ImportError as error:
        raise ValueError(
            "the dask scheduler needs dask.distributed: pip install 'dask[distributed]'"
        ) from error
    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        columns = [[value] * len(todo) for value in args]
        futures = client.map(job, *columns, todo, pure=False)
        for future in dask_as_completed(futures):
            record(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _init_process_worker(threads: int, parent_pid: int | None = None) -> None:
    import torch

    torch.set_num_threads(threads)
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Stop this worker process soon after the labelling process that started it dies.

    Without it, ``kill <label pid>`` (SIGTERM to the parent only, unlike Ctrl-C, which
    reaches the whole process group) leaves workers that keep writing chunks. A chunk is
    written atomically, so a worker stopped here never leaves a partial file.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def progress_bar(total: int, enabled: bool, unit: str = "frame", desc: str = "labelling") -> Any:
    """A progress bar over ``total`` items (plain lines in a log), or None when disabled."""
    if not enabled:
        return None
    return shared_progress_bar(total, desc=desc, unit=unit)
