"""Shared test helpers: plain functions and constants that test modules and fixtures import.

Test modules import helpers from here, never from another test module or from a ``conftest.py``
(``tests/unit/test_test_layout.py`` enforces it); ``conftest.py`` files hold only fixtures and
hooks, which may call these helpers.
"""
