"""perfkit's version, in a module of its own: every module can read it without importing the
package (whose ``__init__`` imports those modules), so no import runs in a circle."""

__version__ = "0.1.0"
