"""Password hashing (argon2id) and the password policy of NIST SP 800-63B: length, no composition rules, no common passwords."""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 128  # long passphrases welcome; the cap only bounds hashing work per request

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


# Spaces, format characters (zero-width space and joiners, BOM) and control characters (tabs,
# newlines): a password made only of these looks blank and is trivially guessed.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc"})


def is_blank(password: str) -> bool:
    return all(unicodedata.category(c) in _INVISIBLE for c in password)


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if is_blank(password):
        return "Use visible characters, not only spaces or invisible ones."
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "This password is too common; choose another."
    if email and lowered == email.lower():
        return "The password must not be your e-mail address."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash to verify against when the e-mail is unknown, so timing does not reveal which accounts exist.
DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
