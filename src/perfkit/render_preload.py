"""Imported first by the report workers' fork server (:data:`perfkit.render._PRELOAD`), before
the rendering libraries it preloads for every worker.

jsonschema (which nbformat imports) imports ``rfc3987_syntax`` when it is installed (JupyterLab's
``jupyter-events`` brings it in), to check the ``iri`` and ``iri-reference`` string formats;
that import builds its grammar's parsers, about 1 s, half of the fork server's start-up and so
of the time before the first report can start. A report worker never checks a string format
(nbformat validates notebooks with fastjsonschema, and with jsonschema only to word an error,
in both cases without checking formats), so here the module counts as not installed:
jsonschema then leaves those two formats unchecked, as it does wherever the package is absent
(python-jsonschema/jsonschema#1428). The caller's own process is left as it is. The fork
server is the one multiprocessing keeps for the whole of the caller's process: worker processes
the same program starts later with the fork-server method (Linux's default from Python 3.14)
come from it too, with its imports, this one included."""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # "import rfc3987_syntax" raises ImportError
