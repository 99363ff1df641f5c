"""Imported first by the report workers' fork server (:data:`perfkit.render._PRELOAD`), before
the rendering libraries it preloads for every worker.

jsonschema (which nbformat imports) imports ``rfc3987_syntax`` when it is installed (JupyterLab's
``jupyter-events`` brings it in), to check the ``iri`` and ``iri-reference`` string formats;
that import builds its grammar's parsers, about 1 s, half of the fork server's start-up and so
of the time before the first report can start. A report worker never checks a string format
(nbformat validates notebooks with fastjsonschema, and with jsonschema only to word an error,
in both cases without checking formats), so here the module counts as not installed:
jsonschema then leaves those two formats unchecked, as it does wherever the package is absent
(python-jsonschema/jsonschema#1428). Only the fork server and its workers are affected, never
the caller's own process."""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # "import rfc3987_syntax" raises ImportError
