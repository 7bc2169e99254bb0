"""How the call log finds what a person types: "phone contains" by the digits of either
number, and the free-text search by a number, an admin's name or a contact's name.

Numbers are found through indexes of their digits (``digit_grams``, migration 0011),
names through the operators and the contact names (``contact_names``, migration 0016),
looked up first so that the search's alternatives stay lists an index serves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics.adapters.tables import call_log, contact_names, operators
from switchboard_phones import search_digits


def number_condition(text: str, region: str) -> sa.ColumnElement[bool] | None:
    """Calls either of whose numbers ``text`` finds (:func:`switchboard_phones.search_digits`);
    ``None`` when the text has no digits."""
    search = search_digits(text, region)
    if not search:
        return None
    c = call_log.c
    found = [_digits_found(d) for d in search.anywhere]
    for d in search.leading:
        begins = sa.or_(c.src.startswith("+" + d), c.dst.startswith("+" + d))
        # The digits (indexed) narrow the rows; the beginning is checked on those.
        found.append(sa.and_(_digits_found(d), begins))
    return sa.or_(*found)


#: Length of the digit runs the numbers are indexed by (``digit_grams``, migration 0011).
DIGIT_GRAM = 6
_digit_grams = sa.func.digit_grams(call_log.c.numbers_digits, type_=pg.ARRAY(sa.Text))


def _digits_found(digits: str) -> sa.ColumnElement[bool]:
    """Calls either of whose numbers contains ``digits``. Six digits or more are found by
    their runs of six (few calls share one); fewer by trigrams, whose lists of calls
    grow with the log (every Moscow mobile number has "916").

    With runs of six, the exact check is ``strpos``, which no index serves: as ``LIKE``
    it would also be looked up in the trigram index, whose ANDed lists make the planner
    believe a hundredth of the calls match, and it would then read and sort every one of
    them for a page instead of walking the newest calls (at 10 M calls, "916 123" matches
    45 000: 1.1 s a page against 20 ms)."""
    numbers = call_log.c.numbers_digits
    if len(digits) < DIGIT_GRAM:
        return numbers.contains(digits)
    runs = sorted({digits[i : i + DIGIT_GRAM] for i in range(len(digits) - DIGIT_GRAM + 1)})
    return sa.and_(_digit_grams.contains(runs), sa.func.strpos(numbers, digits) > 0)


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _admins_named(text: str) -> sa.Select[Any]:
    return sa.select(operators.c.operator_id).where(
        operators.c.name.icontains(text, autoescape=True)
    )


def _contact_names_like(text: str) -> sa.Select[Any]:
    return sa.select(contact_names.c.name).where(
        contact_names.c.name.icontains(text, autoescape=True)
    )


#: Up to this many contact names matching a search are listed in the calls' query (each
#: one an index lookup of its calls); more name so many calls that walking the newest
#: calls and testing each one's name finds a page sooner.
LISTED_NAMES = 200


async def names_found(
    session: AsyncSession, text: str
) -> tuple[frozenset[str], frozenset[str] | None]:
    """The ids of the operators whose names contain ``text``, and the contact names that
    do (``None`` past :data:`LISTED_NAMES` of them).

    Inside the search's OR, a subquery is a filter PostgreSQL must test row by row (a
    search matching nothing would read the whole log); a list of ids or names is one more
    index to OR with the number indexes.
    """
    admins = await session.execute(_admins_named(text))
    names = (await session.execute(_contact_names_like(text).limit(LISTED_NAMES + 1))).scalars()
    listed = frozenset(names)
    return frozenset(admins.scalars()), listed if len(listed) <= LISTED_NAMES else None


def search_condition(
    text: str,
    region: str,
    *,
    contact_names: frozenset[str] | None,
    admin_ids: frozenset[str] | None,
) -> sa.ColumnElement[bool]:
    """Calls that the free-text search ``text`` finds: by a contact's name (one of
    ``contact_names``, or each call's own name when ``None``), an admin's (one of
    ``admin_ids``, or a subquery of the operators when ``None``), or a number."""
    c = call_log.c
    alternatives = []
    if contact_names is None:
        # Hundreds of names: so many calls that the newest calls' own names, tested one by
        # one, give a page sooner than a subquery of names (its hash or its plan costs
        # more than the page).
        alternatives.append(c.contact_name.icontains(text, autoescape=True))
    elif contact_names:
        alternatives.append(c.contact_name.in_(sorted(contact_names)))
    if admin_ids is None:
        alternatives.append(c.admin_id.in_(_admins_named(text)))
    elif admin_ids:
        alternatives.append(c.admin_id.in_(sorted(admin_ids)))
    # A text with letters in it is a name ("Смирнова 1234"), not a part of a number: its
    # digits would otherwise find every call whose number holds them.
    number = None if _has_letters(text) else number_condition(text, region)
    if number is not None:
        alternatives.append(number)
    return sa.or_(*alternatives) if alternatives else sa.false()
