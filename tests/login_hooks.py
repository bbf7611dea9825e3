"""--login-hook functions for tests/test_signed_in.py: sign-ins written in Python against the
sign-in site of tests/signin_site.py."""

from __future__ import annotations

from crawler import LoginSession


async def form_sign_in(session: LoginSession) -> bool:
    """Sign in as a user's script would: fetch the form, keep its hidden fields, post."""
    page = await session.get(session.login_url)
    fields = session.form_fields(page)
    fields.update(user=session.fields["user"], password=session.fields["password"])
    answer = await session.post("/login", fields)
    return answer.status == 200 and "private" in answer.text


async def broken(session: LoginSession) -> None:
    raise RuntimeError("the sign-in API answered 500")


async def says_no(session: LoginSession) -> bool:
    return False
