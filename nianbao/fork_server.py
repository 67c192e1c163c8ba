"""The process local workers are forked from: a fork server that imported the pipeline once.

Why: importing the pipeline takes seconds, which each freshly spawned worker paid again, on the critical
path of every batch and of every upload; forked from a process that did it once, a worker (a new pool's,
the one that replaces a dead worker, an upload's fresh one) starts in milliseconds with only its model to
load, and exits at once. The fork server is a clean, single-threaded process of its own, never the
batch's or the web server's, whose threads and connections a fork would copy mid-use. Why a module that
imports nothing of nianbao: ``nianbao batch`` starts the server first, so its imports run while the
command imports and opens its database.
"""

from __future__ import annotations

from multiprocessing import forkserver, get_context
from multiprocessing.context import BaseContext

# What the fork server imports before it forks a worker: the main module (so a worker need not run it
# again, as a spawned one does), the workers' module and the pipeline.
PRELOADED = ["__main__", "nianbao.workers", "nianbao.extraction.pipeline"]


def fork_server() -> BaseContext:
    """The context local workers are started from: this process's fork server (one a process, PRELOADED
    heeded when it starts), started now if it is not running. It imports on its own while the caller goes
    on; a worker asked for meanwhile waits for it."""
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    forkserver.ensure_running()
    return context
