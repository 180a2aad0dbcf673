"""The database layer: connections end with the thread that opened them."""

from __future__ import annotations

import gc
import sqlite3
import threading

import pytest

from webui import db


def test_a_threads_connection_is_closed_when_the_thread_ends(app):
    opened = []

    def request_in_a_thread():
        with app.app_context():
            conn = db.get_db()
            conn.execute("SELECT 1")
            opened.append(conn)

    worker = threading.Thread(target=request_in_a_thread)
    worker.start()
    worker.join()
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
