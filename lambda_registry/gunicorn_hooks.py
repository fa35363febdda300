"""gunicorn's configuration for the metrics of several worker processes.

    export PROMETHEUS_MULTIPROC_DIR=/run/lambda_registry/metrics
    gunicorn -c python:lambda_registry.gunicorn_hooks --paste production.ini -w 2

With ``PROMETHEUS_MULTIPROC_DIR`` set, every worker keeps its counters and
histograms in files of that directory and a scrape of any worker sums them
all (``metrics.py``). prometheus_client asks for the directory to be empty
when the server starts (files of an earlier run would be summed in), and
for a dead worker's live files to be dropped: the two hooks below. (A dead
worker's counters stay in the sums, as counters should: they counted real
requests.) Without the variable both hooks do nothing.
"""

import glob
import os

from .metrics import MULTIPROCESS_VARIABLE


def on_starting(server):
    """Before the first worker: an empty directory (made if missing)."""
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    if os.environ.get(MULTIPROCESS_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
