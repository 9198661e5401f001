"""The password policy, one home for the command line, the admin pages and "change my password".

At least ``MIN_LENGTH`` characters and not guessable: zxcvbn's estimate (dictionaries of common and breached
passwords, names, keyboard patterns, repeats, dates, and the user's own name) must reach ``MIN_SCORE`` (of 0–4).
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from app.i18n import tr

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"


def password_problem(password: str, *user_inputs: str) -> str | None:
    """Why ``password`` is refused, in the user's language, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return tr((f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự.",
                   f"The password must have at least {MIN_LENGTH} characters."))
    if len(password) > MAX_LENGTH:
        return tr((f"Mật khẩu dài quá {MAX_LENGTH} ký tự.", f"The password is longer than {MAX_LENGTH} characters."))
    if zxcvbn(password, user_inputs=[u for u in user_inputs if u])["score"] < MIN_SCORE:
        return tr(("Mật khẩu quá dễ đoán (mật khẩu phổ biến, đã bị lộ, hoặc giống tên người dùng). "
                   "Hãy dùng một cụm nhiều từ.",
                   "The password is too easy to guess (common, breached, or like the user's name). "
                   "Use a phrase of several words."))
    return None
