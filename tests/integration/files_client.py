"""Moved to tests/fixtures/files_client.py; this name stays only for test_files.py, which still
imports it from here. Import from tests.fixtures.files_client."""

from tests.fixtures.files_client import FilesClient, FilesError, random_file, sha256_of

__all__ = ["FilesClient", "FilesError", "random_file", "sha256_of"]
