"""Secrets (notification channels' passwords, the web proxy's password) sealed at rest with a
key kept in the instance directory, readable by the service's user only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from webui.instance import ensure_dir, write_private

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# Named for the first secrets it sealed; renaming it would lose them.
KEY_FILE = "notifications.key"


class SecretUnreadable(Exception):
    """A sealed secret no longer opens: the key file was replaced or lost."""


def ensure_key(instance: Path) -> None:
    """Make the key once; an existing key is never replaced (its secrets would be lost)."""
    path = instance / KEY_FILE
    if path.exists():
        return
    from cryptography.fernet import Fernet

    ensure_dir(instance)
    staged = instance / f".{KEY_FILE}.{os.getpid()}"
    write_private(staged, Fernet.generate_key())
    try:
        os.link(staged, path)  # fails if another process made the key meanwhile
    except FileExistsError:
        pass
    finally:
        staged.unlink(missing_ok=True)


def _fernet(instance: Path) -> Fernet:
    # cryptography is loaded with the first secret: an idle service does not hold it.
    from cryptography.fernet import Fernet

    ensure_key(instance)
    return Fernet((instance / KEY_FILE).read_bytes().strip())


def seal(instance: Path, secret: str) -> str:
    return _fernet(instance).encrypt(secret.encode()).decode()


def unseal(instance: Path, sealed: str, where: str = "where it was set") -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(instance).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(f"a stored secret cannot be read with {KEY_FILE}; "
                               f"enter it again {where}") from None
