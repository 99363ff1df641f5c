"""The batch of reports of a run: papermill executes the practice notebook and one clinician
notebook per clinician in parallel worker processes, each worker reusing one kernel (its
namespace reset between reports); nbconvert turns each into self-contained HTML without code.
Failures are isolated: a notebook that raises is listed as failed in ``index.html`` and
``manifest.json`` and the others still render. A step (cell) that runs longer than the time
limit (``report.cell_timeout_seconds``) is stopped and its report failed. A worker process that
dies (killed, out of memory) fails only the reports it was running: the pool is rebuilt, those
reports are retried once, each alone, and one whose process stops again is failed. The index
pages are written by :mod:`perfkit.indexes`, the page's style sheet is :mod:`perfkit.page_style`.

Layout inside the run folder, by reader (each reader's index links only their own)::

    index.html                       the owner's index: the practice report, the owner's tables
    practice.html                    the owner's report
    supervisors/<clinician_id>.html  one supervision pack per supervisor (for that supervisor)
    clinicians/<clinician_id>.html   one per clinician (their self-view, for them alone)
    readers/<clinician_id>/index.html  a clinician's or supervisor's own index: their
                                     self-view and, for a supervisor, their pack
    notebooks/<name>.ipynb           the executed notebooks: the run record
    notebooks/batch.log              what the kernels and libraries printed while rendering
"""

from __future__ import annotations

import functools
import gc
import html
import multiprocessing
import os
import queue
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import zmq
from bs4 import BeautifulSoup, Tag
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.channels import ZMQSocketChannel
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor
from tqdm import tqdm
from traitlets import Type

from .config import ReportConfig
from .hostile_text import clean_html, file_stems
from .indexes import write_indexes
from .io import atomic_write_text
from .page_style import page_css

# Kernel connection files of the report workers: inside the folder being rendered (a run's
# staging folder, removed before the run is put in place), never the user's runtime folder.
KERNEL_DIR = ".kernels"

__all__ = ["notebook_dir", "render_reports", "all_reports_failed", "export_html"]

# A report step (one notebook cell) that runs longer than this (seconds) is stopped and its
# report listed as not produced: a stuck kernel costs one report, never the whole run. The
# default of ``report.cell_timeout_seconds``; a run passes the practice's own.
CELL_TIMEOUT = ReportConfig.model_fields["cell_timeout_seconds"].default

# Why a report is missing when its worker process (or its kernel) stopped under it.
STOPPED = "the report's process stopped unexpectedly"
STOPPED_TWICE = STOPPED + " twice"
NOT_STARTED = "the report workers stopped before they could start this report"

SEND_TIMEOUT_MS = 10_000  # see _WarmClient.start_channels
KERNEL_START_ERRORS = ("Kernel didn't respond", "Kernel died", "kernel_info", "ZMQ",
                       "Address already in use", "timed out waiting for kernel")


def notebook_dir() -> Path:
    """Where the report notebooks live: ``$PERFKIT_NOTEBOOKS``; else ``perfkit/notebooks/``
    of an installed package (the wheel maps the checkout's ``notebooks/`` there); else, in a
    source checkout installed for development, the checkout's ``notebooks/`` itself."""
    env = os.environ.get("PERFKIT_NOTEBOOKS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parents[1] / "notebooks"):
        if (folder / "practice_report.ipynb").is_file():
            return folder
    raise RuntimeError(f"perfkit's report notebooks are missing from {here / 'notebooks'}: "
                       "reinstall perfkit")


class _DropStderrAndErrors(Preprocessor):
    """Remove stderr streams and error outputs: a reader sees the report, never a traceback or
    a library warning (the report says in plain words what a failure means)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                            and o.get("output_type") != "error"]
        return cell, resources


def _visible(node) -> bool:
    """Whether a cell shows anything: text, an image or a table."""
    return bool(node.get_text(strip=True)) or node.find(["img", "table"]) is not None


def semantic_page(body: str | BeautifulSoup) -> str:
    """nbconvert's cells as a document: one ``main`` holding the title and, from each level-2
    heading to the next, a ``section`` labelled by its heading (a landmark for screen readers);
    cells that show nothing (code, parameters) are dropped, and so is a section with nothing
    under its heading (a reader is not told about what does not apply to them). ``body``:
    nbconvert's cells, as HTML or already parsed (changed in place)."""
    soup = body if isinstance(body, BeautifulSoup) else BeautifulSoup(body, "html.parser")
    main = soup.new_tag("main")
    here, n = main, 0
    for node in list(soup.contents):
        if not isinstance(node, Tag):
            node.extract()
            continue
        if not _visible(node):
            node.decompose()
            continue
        heading = node.find("h2")
        if heading is not None:
            n += 1
            heading["id"] = f"section-{n}"
            here = soup.new_tag("section", attrs={"aria-labelledby": f"section-{n}"})
            main.append(here)
        here.append(node.extract())
    for section in main.find_all("section", recursive=False):
        cells = section.find_all(recursive=False)
        for k, cell in enumerate(cells[1:], 1):  # a written sub-heading with nothing under it
            if _only_heading(cell, "h3") and (k + 1 == len(cells)
                                              or cells[k + 1].find(["h2", "h3"]) is not None):
                cell.decompose()
        first, *rest = section.find_all(recursive=False)
        if "text_cell" in first.get("class", []) and not any(_visible(c) for c in rest):
            section.decompose()  # a written heading with nothing under it
    return str(main)


def _only_heading(cell, level: str) -> bool:
    """A written (markdown) cell that opens with a heading of ``level``."""
    if "text_cell" not in cell.get("class", []):
        return False
    first = cell.find(["h1", "h2", "h3", "h4", "p", "ul", "ol", "table"])
    return first is not None and first.name == level


def export_html(nb, title: str) -> str:
    """Self-contained HTML of an executed notebook: no code, no prompts, no stderr, figures
    embedded, and no scripts at all (nbconvert's ``basic`` template inside our own page, made
    a document by :func:`semantic_page`, with a print stylesheet).

    Every HTML and Markdown output passes through nbconvert's own sanitizing
    (``sanitize_html=True``) with perfkit's allowlist
    (:func:`perfkit.hostile_text.clean_html`) as its ``clean_html`` filter, and JavaScript or
    widget outputs are dropped: whatever a section shows, no input value can run as code in a
    reader's browser."""
    body = _exporter().parsed_page(nb)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{page_css(title)}</style></head><body>\n"
            f"{semantic_page(body)}\n"
            "<footer>Made with perfkit from the practice's own records. Symptom scores are "
            "one data point among many.</footer></body></html>\n")


class _PageExporter(HTMLExporter):
    """nbconvert's HTML exporter, giving its page parsed (:meth:`_PageExporter.parsed_page`)."""

    def parsed_page(self, nb) -> BeautifulSoup:
        """What ``from_notebook_node`` gives, parsed: the HTML of the notebook's cells, with
        nbconvert's own finishing of it (a stock text alternative on an image without one,
        ``tabindex`` on input and output areas). nbconvert parses its page to finish it and
        returns it as text, which :func:`semantic_page` would parse again (a fifth of an
        export); its steps are taken here on the parse :func:`semantic_page` then works on
        (nbconvert's log line counting images without a text alternative is left out). The
        page is the same, byte for byte: ``tests/test_same_output.py`` compares the two on
        hostile outputs and on every report of the demo run."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        resources = self._init_resources(None)
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, _ = TemplateExporter.from_notebook_node(self, nb, resources)
        soup = BeautifulSoup(page, features="html.parser")
        for elem in soup.select("img:not([alt])"):
            elem.attrs["alt"] = "No description has been provided for this image"
        for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper, "
                                ".jp-Notebook div.jp-OutputArea-output"):
            elem.attrs["tabindex"] = "0"
        return soup


@functools.cache
def _exporter() -> _PageExporter:
    """The HTML exporter of :func:`export_html`, made once per process: a new exporter loads
    and compiles its Jinja templates again (about a quarter of an export). It keeps nothing
    from one notebook to the next (each export starts from fresh resources), so a report
    worker uses one for every report it renders. The notebook is validated once, after its
    preprocessors have run (``optimistic_validation``), instead of after each of them: the
    same check, without a dozen validations of the same notebook."""
    exporter = _PageExporter(template_name="basic", exclude_input=True,
                             exclude_input_prompt=True, exclude_output_prompt=True,
                             sanitize_html=True, exclude_anchor_links=True,
                             optimistic_validation=True, filters={"clean_html": clean_html})
    exporter.register_preprocessor(_DropStderrAndErrors(), enabled=True)
    return exporter


class Job(dict):
    """One report to render (internal): name, id, role, notebook, parameters, executed
    notebook, html path, title."""


# What a report worker imports before it is forked (see _worker_context); the first keeps
# jsonschema from building parsers no worker uses (see perfkit.render_preload).
_PRELOAD = ["perfkit.render_preload", "perfkit.render", "papermill"]


def _worker_context() -> multiprocessing.context.BaseContext:
    """How report workers are started: forked from multiprocessing's fork server, a clean
    single-threaded process that has imported the rendering libraries once, never forked from
    the caller itself. The caller may have threads (a Jupyter kernel's ZeroMQ threads, a
    progress bar's monitor, the tests' own kernels): a fork copies their locks in whatever
    state they are in, and a worker that needs one of them waits for ever. That is how a
    test run hung for 90 minutes. Python 3.14 made the fork server Linux's default for this
    reason. Where there is no fork server (Windows, macOS's default), the platform's own."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # takes effect when the server first starts
    return ctx


def _die_with_parent(parent: int) -> None:
    """End this worker as soon as the run's process (``parent``) is gone, so report workers
    never outlive a killed ``perfkit run``; the worker's kernel follows within a second
    (ipykernel exits when its parent process changes). A worker's own parent is the fork
    server, which stays while any worker lives, so a watcher thread waits on the run's process
    itself (a Linux pidfd; elsewhere a check every second). ``prctl(PR_SET_PDEATHSIG)`` also
    ends the worker if the fork server is killed. A run that ended before this started ends the
    worker at once."""
    import ctypes
    import select
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # no prctl: the watcher below still ends it
            pass
    try:
        pidfd = os.pidfd_open(parent)
    except (AttributeError, OSError):  # no pidfd here, or the run is already gone
        pidfd = None
        if not _alive(parent):
            os._exit(1)

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])  # readable once the process has exited
        else:
            while _alive(parent):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="perfkit-run-watcher", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pid now belongs to another user's process: not the run
        return False
    return True


def _quiet_worker(log_path: str, kernel_dir: str, parent: int, environ: dict[str, str],
                  cwd: str) -> None:
    """Worker start-up: die with the parent process; take the caller's environment and
    working folder as they are now (the fork server keeps those of its own start); keep kernel
    connection files in the run's own ``kernel_dir``; and send what kernels and libraries write
    to stderr (transport notices, shutdown messages, papermill's parameter warnings) to the
    run's batch log, so the terminal shows one progress bar and the log keeps the details."""
    import logging

    _die_with_parent(parent)
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    os.environ["JUPYTER_RUNTIME_DIR"] = kernel_dir
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(level=logging.WARNING, force=True)
    gc.freeze()  # the rendering libraries the fork server imported, if any (GC_THRESHOLDS)
    gc.set_threshold(*GC_THRESHOLDS)


def _is_kernel_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(k.lower() in text.lower() for k in KERNEL_START_ERRORS)


class _GuardedChannel(ZMQSocketChannel):
    """A kernel channel whose waits end when the kernel has died or the running step has
    passed its time limit. nbclient drives this blocking client from an event loop, so its own
    watchers (the per-cell timeout, the dead-kernel check) never get a turn while a wait
    blocks: waiting for a step's output (with no time limit), a report whose kernel died or
    whose step never ended held its worker, and the run's lock, for ever. Here a wait is made
    of polls of at most a second; it gives up (``queue.Empty``, as a wait that timed out) once
    the kernel is gone or the step's deadline (:attr:`_WarmClient.deadline`) has passed, and
    nbclient then reports a dead kernel or a timed-out cell as it does for an async client."""

    client: _WarmClient | None = None

    def get_msg(self, timeout: float | None = None) -> dict:
        client = self.client
        if client is None:
            return super().get_msg(timeout=timeout)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            limits = [t for t in (end, client.deadline) if t is not None]
            limit = min(limits) if limits else None
            step = 1.0 if limit is None else max(0.0, min(1.0, limit - time.monotonic()))
            try:
                msg = super().get_msg(timeout=step)
            except queue.Empty:
                if (limit is not None and time.monotonic() >= limit) or not client.kernel_alive():
                    raise
                continue
            if (msg.get("msg_type") == "execute_reply"
                    and msg.get("parent_header", {}).get("msg_id") == client.pending):
                client.deadline = None  # the step has ended
            return msg


class _WarmClient(BlockingKernelClient):
    """A kernel client that stays connected between reports. A new client has to wait for its
    IOPub subscription to connect (about 0.2 s, ZeroMQ's slow joiner) before it can trust that
    no output is lost; papermill asks the kernel manager for a client per notebook, so a worker
    would pay that twice per report. This client is started and checked once, and later calls
    to start it or wait for it are no-ops while its channels run.

    Its channels are :class:`_GuardedChannel`: while a report runs, each ``execute`` sets the
    step's ``deadline`` (``_KERNEL["cell_timeout"]`` seconds on), so no wait outlives the
    step's time limit or the kernel itself. The worker's own requests (the warm-up, the reset
    between reports) keep their own timeouts."""

    shell_channel_class = Type(_GuardedChannel)
    iopub_channel_class = Type(_GuardedChannel)
    _ready = False
    deadline: float | None = None  # when the running step must have ended (monotonic clock)
    pending: str | None = None  # the running step's request

    def _guarded(self, channel):
        if isinstance(channel, _GuardedChannel) and channel.client is None:
            channel.client = self
        return channel

    @property
    def shell_channel(self):
        return self._guarded(super().shell_channel)

    @property
    def iopub_channel(self):
        return self._guarded(super().iopub_channel)

    def execute(self, *args, **kwargs) -> str:
        limit = _KERNEL.get("cell_timeout")
        self.deadline = None if not limit else time.monotonic() + limit
        self.pending = super().execute(*args, **kwargs)
        return self.pending

    def kernel_info(self) -> str:
        """Ask for the kernel's info (``wait_for_ready`` asks once a second). A kernel that died
        at its start (another process took its port: "Address already in use") has no socket
        to take the request, and ZeroMQ's send would then wait for ever: so a dead kernel is
        said here, in jupyter_client's own words, and the report is retried with a new one."""
        if not self.kernel_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        self.deadline = self.pending = None  # a request of its own, not a step of the report
        return super().kernel_info()

    def start_channels(self, *args, **kwargs) -> None:
        if not self.channels_running:
            super().start_channels(*args, **kwargs)
            for channel in (self.shell_channel, self.control_channel, self.stdin_channel):
                # a request to a kernel that has gone waits at most this long to be sent
                channel.socket.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)

    def kernel_alive(self) -> bool:
        """Whether the kernel process still runs (asked of its manager: no network round
        trip, and a zombie kernel counts as dead)."""
        km = self.parent
        return km.is_alive() if isinstance(km, KernelManager) else True

    def wait_for_ready(self, timeout: float | None = None) -> None:
        if not self._ready:
            super().wait_for_ready(timeout=timeout)
            self._ready = True

    def stop_channels(self) -> None:
        self._ready = False
        super().stop_channels()


class _WorkerKernelManager(KernelManager):
    """The worker's kernel manager: hands out one long-lived client (see ``_WarmClient``)."""

    _client: _WarmClient | None = None
    settled = False  # its caches frozen after its first report (see _reset_kernel)

    def client(self, **kwargs) -> _WarmClient:
        if self._client is None or not self._client.channels_running:
            self._client = super().client(**kwargs)
        return self._client


# A report kernel keeps no input history: IPython would otherwise write every step of every
# report (with its run folder and clinician id) into the user's history database, a SQLite
# write per step that doubled the time of a step's round trip (about 12 ms to 6 ms). Nor does
# it keep its outputs (``Out``, ``_``): nothing reads them, and the cache held each report's
# figures until the reset, whose extra garbage collection then had them to go through.
KERNEL_ARGS = ["--HistoryManager.enabled=False", "--InteractiveShell.cache_size=0"]

# Python's garbage collector in a report worker and its kernel (both long-lived, each making
# and dropping many objects a report): what lives on is moved out of its sight once
# (``gc.freeze``: in a worker, the libraries the fork server imported; in a kernel, its imports
# and, after its first report, the tables it read and the fonts and templates it loaded), and
# it runs less often (``gc.set_threshold``; Python's default first threshold is 700 objects).
# Over 30 reports of a 200-clinician practice this cut the time spent collecting from about
# 49 ms a report (worker and kernel) to 20; nothing about a report changes.
GC_THRESHOLDS = (20_000, 20, 20)

_KERNEL: dict = {}  # per worker process: one kernel, reused for every report it renders


def _kernel() -> _WorkerKernelManager:
    """This worker's kernel: started on first use (and again if it died), shut down when the
    worker exits. Reusing it saves each report the kernel start and the imports."""
    from multiprocessing import util

    km = _KERNEL.get("km")
    if km is not None and km.is_alive():
        return km
    km = _WorkerKernelManager(kernel_name="python3", client_factory=_WarmClient)
    km.start_kernel(extra_arguments=KERNEL_ARGS)
    _KERNEL["km"] = km
    _run_silently(km, _WARM_UP)
    if "finalizer" not in _KERNEL:
        _KERNEL["finalizer"] = util.Finalize(None, _shutdown_kernel, exitpriority=10)
    return km


def _shutdown_kernel() -> None:
    km = _KERNEL.pop("km", None)
    if km is not None:
        try:
            if km._client is not None:
                km._client.stop_channels()
            km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - the worker is exiting anyway
            pass


# Imported once per kernel; gc.freeze() then keeps these long-lived objects out of every later
# garbage collection, so the reset between reports (which collects) stays cheap (GC_THRESHOLDS).
_WARM_UP = ("import gc, perfkit.report, matplotlib.pyplot\ngc.freeze()\n"
            f"gc.set_threshold{GC_THRESHOLDS}")


def _run_silently(km: _WorkerKernelManager, code: str) -> bool:
    """Run code in the kernel without output; True when it ran without error."""
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(code, silent=True)
        while True:
            reply = kc.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"] == "ok"
    except (RuntimeError, TimeoutError, queue.Empty, OSError, zmq.ZMQError):
        return False  # the kernel did not answer: it is replaced


# Before the reset: the last error a report raised (Python keeps it, with its traceback and the
# report's frames, in sys.last_*, which IPython's reset leaves alone) is let go, so the reset's
# garbage collection takes it with the rest of the report.
_FORGET_LAST_ERROR = ("[setattr(__import__('sys'), n, None) for n in "
                      "('last_type', 'last_value', 'last_traceback', 'last_exc')]\n")


def _reset_kernel(km: _WorkerKernelManager) -> bool:
    """Clear the user namespace between reports (imports stay loaded): no report can see
    another's variables. After the kernel's first report, what the reset leaves is the
    kernel's own (tables read, fonts and templates loaded): frozen once (``gc.freeze``), so
    later collections pass it by (GC_THRESHOLDS). Returns False when the kernel did not
    answer."""
    code = _FORGET_LAST_ERROR + "%reset -f"
    if not km.settled:
        code += "\n__import__('gc').freeze()"
    ok = _run_silently(km, code)
    km.settled = km.settled or ok
    return ok


def _render(job: Job) -> dict:
    """Execute one notebook with papermill in this worker's kernel and export it. A kernel that
    fails to start is retried once with a fresh one (papermill's port race under parallel
    starts); a kernel that does not come back clean is replaced for the next report. A step
    that runs longer than ``job["cell_timeout"]`` seconds is stopped (its kernel shut down) and
    the report failed. The job's ``started`` file, when given, is created first: it tells
    :func:`render_reports` which reports a worker that died was running."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    if job.get("started"):
        Path(job["started"]).touch()
    t0 = time.perf_counter()
    timeout = job.get("cell_timeout") or CELL_TIMEOUT
    out_nb = Path(job["executed"])
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    status, message, executed = "ok", "", None
    for attempt in (1, 2):
        try:
            km = _kernel()
            _KERNEL["cell_timeout"] = timeout  # each step's limit (see _WarmClient.execute)
            try:
                # the executed notebook papermill returns, the one it wrote to out_nb:
                # exported from here, not read back from the file (the same page, without
                # parsing and validating the notebook again)
                executed = pm.execute_notebook(
                    job["notebook"], str(out_nb), parameters=job["parameters"],
                    kernel_name="python3", progress_bar=False, log_output=False,
                    request_save_on_cell_execute=False, km=km, execution_timeout=timeout)
            finally:
                _KERNEL.pop("cell_timeout", None)
            break
        except PapermillExecutionError as exc:
            status, message = "failed", f"{exc.ename}: {exc.evalue}"
            break
        except Exception as exc:  # noqa: BLE001 - kernel start failures are retried once
            _shutdown_kernel()
            if type(exc).__name__ == "CellTimeoutError":
                status, message = "failed", (f"one step of this report took longer than "
                                             f"{_duration(timeout)} and was stopped")
                break
            if type(exc).__name__ == "DeadKernelError":  # its kernel died: retried once
                if attempt == 1:
                    continue
                status, message = "failed", STOPPED_TWICE
                break
            if attempt == 1 and _is_kernel_start_failure(exc):
                continue
            status, message = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
            break
    km = _KERNEL.get("km")
    if km is not None and not (km.is_alive() and _reset_kernel(km)):
        _shutdown_kernel()
    if status == "ok":
        try:
            atomic_write_text(job["html"], export_html(executed, job["title"]))
        except Exception as exc:  # noqa: BLE001
            status, message = "failed", f"HTML export: {type(exc).__name__}: {exc}"
    return _result(job, status, message, round(time.perf_counter() - t0, 2))


def _duration(seconds: float) -> str:
    """A time limit in words: "10 minutes", "90 seconds", "1 minute"."""
    seconds = int(seconds)
    if seconds >= 60 and seconds % 60 == 0:
        n = seconds // 60
        return f"{n} minute" + ("" if n == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


def _result(job: Job, status: str, message: str, seconds: float | None) -> dict:
    return {"name": job["name"], "id": job["id"], "role": job["role"], "path": job["rel_html"],
            "notebook": Path(job["executed"]).name, "status": status, "message": message,
            "seconds": seconds, "title": job["title"]}


ROLES = ("owner", "supervisor", "clinician")


def _jobs(folder: Path, clinicians: list[tuple[str, str]], practice_name: str,
          period: str, supervisors: list[tuple[str, str]] | None = None,
          roles: tuple[str, ...] = ROLES) -> list[Job]:
    """One job per report. File names come from :func:`perfkit.hostile_text.file_stems`, never
    from an id as it is: an id such as ``../practice`` or ``/srv/x`` names a file inside its
    own folder like any other."""
    nbdir = notebook_dir()
    supervisors = list(supervisors or []) if "supervisor" in roles else []
    clinicians = list(clinicians) if "clinician" in roles else []
    stems = file_stems([i for i, _ in supervisors] + [i for i, _ in clinicians])
    run_folder = str(folder.resolve())
    jobs = []
    if "owner" in roles:
        jobs.append(Job(name="practice", id=None, notebook=str(nbdir / "practice_report.ipynb"),
                        parameters={"run_folder": run_folder},
                        executed=str(folder / "notebooks" / "practice.ipynb"),
                        html=str(folder / "practice.html"), rel_html="practice.html",
                        title=f"{practice_name}: practice report, {period}", role="owner"))
    for role, people, sub, notebook, param, what in (
            ("supervisor", supervisors, "supervisors", "supervisor_report.ipynb",
             "supervisor_id", "supervision pack"),
            ("clinician", clinicians, "clinicians", "clinician_report.ipynb", "clinician_id",
             "clinician report")):
        for pid, name in people:
            stem = stems[pid]
            jobs.append(Job(name=f"{role}:{pid}", id=pid, notebook=str(nbdir / notebook),
                            parameters={"run_folder": run_folder, param: pid},
                            executed=str(folder / "notebooks" / f"{role}_{stem}.ipynb"),
                            html=str(folder / sub / f"{stem}.html"), rel_html=f"{sub}/{stem}.html",
                            title=f"{name}: {what}, {period}", role=role))
    for job in jobs:  # defence in depth: every output stays inside the run folder
        for key in ("executed", "html"):
            if not Path(job[key]).resolve().is_relative_to(folder.resolve()):
                raise RuntimeError(f"report path outside the run folder: {job[key]}")
    return jobs


def render_reports(folder: str | os.PathLike, clinicians: list[tuple[str, str]], *,
                   practice_name: str, period: str, workers: int | None = None,
                   progress: bool = True, supervisors: list[tuple[str, str]] | None = None,
                   roles: tuple[str, ...] = ROLES, cell_timeout: int | None = None) -> list[dict]:
    """Render the reports of the given roles: the owner's practice report, one supervision
    pack per (supervisor_id, name) and one report per (clinician_id, name). Returns one
    status row per report and writes ``index.html``.

    A step of a report running longer than ``cell_timeout`` seconds (default
    :data:`CELL_TIMEOUT`, ``report.cell_timeout_seconds``) is stopped and the report failed.
    A worker that dies fails only the reports it was running (see :func:`_render_all`);
    :func:`all_reports_failed` tells a caller whether any report was produced."""
    folder = Path(folder)
    jobs = _jobs(folder, clinicians, practice_name, period, supervisors, roles)
    if not jobs:
        write_indexes(folder, [], practice_name, period, clinicians, supervisors)
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    log_path = str(folder / "notebooks" / "batch.log")
    kernel_dir = folder / KERNEL_DIR
    started = kernel_dir / "started"
    started.mkdir(parents=True, exist_ok=True)
    for k, job in enumerate(jobs):
        job["started"] = str(started / str(k))
        job["cell_timeout"] = cell_timeout or CELL_TIMEOUT
    bar = tqdm(total=len(jobs), desc="reports", unit="report", disable=not progress)
    try:
        done = _render_all(jobs, workers, (log_path, str(kernel_dir), os.getpid(),
                                           dict(os.environ), os.getcwd()), bar)
    finally:
        bar.close()
        shutil.rmtree(kernel_dir, ignore_errors=True)  # the workers shut their kernels down
    results = [done[k] for k in range(len(jobs))]
    write_indexes(folder, results, practice_name, period, clinicians, supervisors)
    return results


def all_reports_failed(rows: list[dict]) -> bool:
    """True when there were reports to render and not one was produced. ``rows`` are
    :func:`render_reports`' results or a run's manifest outputs (its report rows carry a
    ``role``; ``index.html`` and the tables do not count). A run with no reports to render
    (``--tables-only``) is not one whose reports all failed."""
    reports = [r for r in rows if r.get("role") in ROLES]
    return bool(reports) and all(r.get("status") != "ok" for r in reports)


def _render_all(jobs: list[Job], workers: int, initargs: tuple, bar) -> dict[int, dict]:
    """Each job's result, by index. The jobs run in a pool of ``workers`` processes. When a
    worker process dies (SIGKILL, the out-of-memory killer, ``os._exit``), Python marks the
    whole pool broken and every unfinished job with it; here only the jobs that had started
    (their ``started`` file exists) count a stop, and the others are simply submitted again.
    A job stopped once is retried alone, in a pool of one worker, so a second stop is its own
    doing, never a neighbour's: it is failed (``STOPPED_TWICE``) and the rest go on.
    A pool that breaks twice in a row before starting any job (workers that cannot start)
    fails the jobs left (``NOT_STARTED``)."""
    done: dict[int, dict] = {}
    stops = dict.fromkeys(range(len(jobs)), 0)
    together, alone = list(range(len(jobs))), []
    idle_breaks = 0
    while together or alone:
        batch, size = (alone, 1) if alone else (together, min(workers, len(together)))
        for k in batch:
            Path(jobs[k]["started"]).unlink(missing_ok=True)
        finished, broken = _pool_round(jobs, batch, size, initargs, bar)
        done.update(finished)
        left = [k for k in batch if k not in finished]
        if alone:
            alone = left
        else:
            together = left
        if not broken:
            continue
        stopped = [k for k in left if Path(jobs[k]["started"]).exists()]
        idle_breaks = 0 if (stopped or finished) else idle_breaks + 1
        for k in stopped:
            stops[k] += 1
            if alone and k in alone:
                alone.remove(k)
            if together and k in together:
                together.remove(k)
            if stops[k] >= 2:
                done[k] = _result(jobs[k], "failed", STOPPED_TWICE, None)
                bar.update(1)
            else:
                alone.append(k)
        if idle_breaks >= 2:
            for k in together + alone:
                done[k] = _result(jobs[k], "failed", NOT_STARTED, None)
                bar.update(1)
            together, alone = [], []
    return done


def _pool_round(jobs: list[Job], batch: list[int], size: int, initargs: tuple,
                bar) -> tuple[dict[int, dict], bool]:
    """Run ``batch`` (job indexes) in a fresh pool of ``size`` workers. Returns the results of
    the jobs that finished and whether the pool broke (a worker died): the jobs of ``batch``
    without a result are then the caller's to retry."""
    finished: dict[int, dict] = {}
    broken = False
    with ProcessPoolExecutor(max_workers=size, mp_context=_worker_context(),
                             initializer=_quiet_worker, initargs=initargs) as pool:
        futures = {}
        for k in batch:
            try:
                futures[pool.submit(_render, jobs[k])] = k
            except BrokenProcessPool:  # a worker died while the jobs were being handed out
                broken = True
                break
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                finished[k] = fut.result()
            except BrokenProcessPool:  # the pool is broken: every unfinished job ends here
                broken = True
                continue
            except Exception as exc:  # noqa: BLE001 - a job that raised is one failed report
                finished[k] = _result(jobs[k], "failed",
                                      f"{type(exc).__name__}: {exc}".splitlines()[0], None)
            bar.update(1)
    return finished, broken
