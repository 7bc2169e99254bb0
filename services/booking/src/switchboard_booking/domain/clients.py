"""Client (patient) rules: the profile with its phone numbers, and merging duplicates."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.notifications import LANGUAGES
from switchboard_phones import InvalidPhoneNumber, normalise

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _e164(raw: str, region: str, field: str) -> str:
    """``raw`` as E.164 by the platform's rule; :class:`InvalidRequest` naming ``field``."""
    try:
        return normalise(raw, region)
    except InvalidPhoneNumber as exc:
        raise InvalidRequest(f"{field}: {exc}") from None


@dataclass(frozen=True)
class ClientProfile:
    """A client's personal details as booking keeps them."""

    first_name: str
    last_name: str
    email: str | None = None
    mobile: str | None = None
    sms_consent: bool = False
    date_of_birth: date | None = None
    phones: tuple[str, ...] = ()
    #: The language notifications are written in.
    language: str = "ru"
    #: False once they unsubscribed from email (the link in every email).
    email_consent: bool = True

    @property
    def display_name(self) -> str:
        """``First Last``."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def all_phones(self) -> list[str]:
        """The mobile first, then the extra phones, without repeats."""
        return list(dict.fromkeys([p for p in (self.mobile, *self.phones) if p]))


def new_profile(
    *,
    first_name: str,
    last_name: str,
    email: str | None,
    mobile: str | None,
    sms_consent: bool,
    region: str,
    date_of_birth: date | None = None,
    phones: tuple[str, ...] = (),
    language: str = "ru",
    email_consent: bool = True,
) -> ClientProfile:
    """A validated profile: first and last name, and an email or a mobile phone at least.

    Phones are stored E.164; an email is lower-cased; SMS consent needs a mobile.
    """
    first, last = first_name.strip(), last_name.strip()
    if not first or not last:
        raise InvalidRequest("first_name and last_name are required")
    email = (email or "").strip().lower() or None
    if email is not None and not _EMAIL.match(email):
        raise InvalidRequest("email is not a valid address")
    mobile = _e164(mobile, region, "mobile") if mobile and mobile.strip() else None
    if email is None and mobile is None:
        raise InvalidRequest("an email or a mobile phone is required")
    if sms_consent and mobile is None:
        raise InvalidRequest("SMS consent needs a mobile phone")
    if language not in LANGUAGES:
        raise InvalidRequest(f"language must be one of: {', '.join(LANGUAGES)}")
    extra = tuple(dict.fromkeys(_e164(p, region, "phones") for p in phones if p.strip()))
    return ClientProfile(
        first,
        last,
        email,
        mobile,
        sms_consent,
        date_of_birth,
        tuple(p for p in extra if p != mobile),
        language,
        email_consent,
    )


def merged_profile(primary: ClientProfile, duplicate: ClientProfile) -> ClientProfile:
    """What the primary looks like after absorbing the duplicate.

    The primary's details win; the duplicate fills what the primary lacks; every phone of
    both is kept. SMS consent follows the mobile that is kept.
    """
    mobile, consent = primary.mobile, primary.sms_consent
    if mobile is None and duplicate.mobile is not None:
        mobile, consent = duplicate.mobile, duplicate.sms_consent
    phones = tuple(
        p for p in dict.fromkeys([*primary.all_phones, *duplicate.all_phones]) if p != mobile
    )
    email, email_consent = primary.email, primary.email_consent
    if email is None and duplicate.email is not None:
        email, email_consent = duplicate.email, duplicate.email_consent
    return replace(
        primary,
        email=email,
        email_consent=email_consent,
        mobile=mobile,
        sms_consent=consent,
        date_of_birth=primary.date_of_birth or duplicate.date_of_birth,
        phones=phones,
    )
