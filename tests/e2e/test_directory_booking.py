"""Settings → Clinics, Practitioners and Services in headless Chromium against the real
platform: the admin sets up a clinic in Europe/Berlin with opening hours, a practitioner
working there and a service, and Booking offers exactly the slots those hours allow, in
Berlin time; a day off added in the console empties that day and lists the appointment
booked on it for rescheduling (never moved). The same setup in Russian, driven by the
console's Russian texts (``console/src/locales/ru.json``), offers the same Berlin slots and
none on the day off. Managers read the directory without edit controls; the Clinics tab in
Russian.

Expected slots are worked out here from the hours typed in, not read from booking: every
quarter hour from the later opening to the earlier closing at which the whole service fits,
turned into UTC instants with ``zoneinfo``. The day is the platform's booking day (a weekday
after today, :func:`live_platform.demo_days`), so it is never today and always a working day
of the hours entered (Monday to Friday)."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from live_platform import IN_ENGLISH, IN_RUSSIAN, REPO, ConsoleWords, api_request, screenshot
from playwright.sync_api import expect

from switchboard_booking.entrypoints.seed import next_weekday

BERLIN = ZoneInfo("Europe/Berlin")
OPENS, CLOSES = "08:00", "13:00"  # the clinic
STARTS, ENDS = "09:00", "17:00"  # the practitioner there
SERVICE_MINUTES = 45
STEP_MINUTES = 15  # booking's BOOKING_SLOT_STEP_MINUTES default
DASH = "\u2013"  # between the start and the end of hours, as the tables write them


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def _expected_slots(day: date) -> list[datetime]:
    """Slot starts on ``day``: inside both the clinic's and the practitioner's hours."""
    start = max(time.fromisoformat(OPENS), time.fromisoformat(STARTS))
    end = min(time.fromisoformat(CLOSES), time.fromisoformat(ENDS))
    slots, at = [], datetime.combine(day, start, BERLIN)
    while at + timedelta(minutes=SERVICE_MINUTES) <= datetime.combine(day, end, BERLIN):
        slots.append(at)
        at += timedelta(minutes=STEP_MINUTES)
    return slots


def _utc_offset(moment: datetime) -> str:
    """``UTC+01:00`` for a Berlin winter moment."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _fill_week(dialog: Any, start: str, end: str, say: ConsoleWords) -> None:
    """Monday to Friday from ``start`` to ``end`` in a weekly hours editor."""
    for day in say.weekdays[:5]:
        dialog.get_by_role("button", name=say("week.addFor", day=day)).click()
        dialog.get_by_label(say("week.from", day=day), exact=True).fill(start)
        dialog.get_by_label(say("week.until", day=day), exact=True).fill(end)


def _settings_tab(page: Any, tab: str) -> None:
    page.goto("/settings")
    page.get_by_role("tab", name=tab, exact=True).click()


def _create_clinic(admin: Any, name: str, say: ConsoleWords) -> None:
    """A clinic in Berlin open Monday to Friday from ``OPENS`` to ``CLOSES``."""
    _settings_tab(admin, say("settings.tab.clinics"))
    admin.get_by_role("button", name=say("clinics.new")).click()
    dialog = admin.get_by_role("dialog", name=say("clinics.new"))
    dialog.get_by_label(say("clinics.name"), exact=True).fill(name)
    dialog.get_by_label(say("clinics.city"), exact=True).fill("Berlin")
    dialog.get_by_label(say("clinics.address"), exact=True).fill("Unter den Linden 1")
    dialog.get_by_label(say("clinics.timeZone"), exact=True).select_option("Europe/Berlin")
    # The offset shown is Berlin's now (as read just before or just after the page's text).
    before = _utc_offset(datetime.now(BERLIN))
    now_utc = re.escape(say("clinics.offsetNow", offset="UTC"))
    expect(dialog.get_by_test_id("clinic-offset")).to_have_text(
        re.compile(rf"^{now_utc}[+-]\d\d:\d\d$")
    )
    shown = dialog.get_by_test_id("clinic-offset").inner_text()
    after = _utc_offset(datetime.now(BERLIN))
    assert shown in {
        say("clinics.offsetNow", offset=before),
        say("clinics.offsetNow", offset=after),
    }
    _fill_week(dialog, OPENS, CLOSES, say)
    dialog.get_by_role("button", name=say("clinics.create")).click()
    saved = say("clinics.saved", name=name)
    expect(admin.get_by_role("status").filter(has_text=saved)).to_be_visible()


def _new_service(admin: Any, name: str, say: ConsoleWords) -> Any:
    """The New service dialog filled in for ``SERVICE_MINUTES``, not yet created."""
    _settings_tab(admin, say("settings.tab.services"))
    admin.get_by_role("button", name=say("services.new")).click()
    dialog = admin.get_by_role("dialog", name=say("services.new"))
    dialog.get_by_label(say("services.name"), exact=True).fill(name)
    dialog.get_by_label(say("services.durationMinutes")).fill(str(SERVICE_MINUTES))
    return dialog


def _new_practitioner(admin: Any, name: str, service: str, clinic: str, say: ConsoleWords) -> Any:
    """The New practitioner dialog filled in: ``service`` at ``clinic`` from ``STARTS`` to
    ``ENDS`` Monday to Friday, not yet created."""
    _settings_tab(admin, say("settings.tab.practitioners"))
    admin.get_by_role("button", name=say("practitioners.new")).click()
    dialog = admin.get_by_role("dialog", name=say("practitioners.new"))
    dialog.get_by_label(say("practitioners.name"), exact=True).fill(name)
    dialog.get_by_role("checkbox", name=service).check()
    dialog.get_by_role("checkbox", name=clinic).check()
    hours = say("practitioners.hoursAt", clinic=clinic, zone="Europe/Berlin")
    _fill_week(dialog.get_by_role("group", name=hours), STARTS, ENDS, say)
    return dialog


def _free_times(
    admin: Any, day: date, service: str, clinic: str, doctor: str, say: ConsoleWords
) -> Any:
    """Booking's free times of ``doctor`` at ``clinic`` on ``day``, as its options."""
    admin.goto("/booking")
    # Every plural form of "min" is the same in both languages; 45 is "other" in English.
    minutes = say("booking.minutes_other", count=SERVICE_MINUTES)
    admin.get_by_label(say("booking.service")).select_option(label=f"{service} ({minutes})")
    admin.get_by_label(say("booking.location")).select_option(label=f"{clinic}, Berlin")
    admin.get_by_label(say("booking.practitioner")).select_option(label=doctor)
    admin.get_by_label(say("booking.day"), exact=True).fill(day.isoformat())
    free = re.compile(re.escape(say("booking.freeTimes")))
    return admin.get_by_role("listbox", name=free).get_by_role("option")


def _add_day_off(admin: Any, doctor: str, day: date, reason: str, say: ConsoleWords) -> Any:
    """``day`` off for ``doctor``, who had none, added in their Time off dialog; the dialog."""
    _settings_tab(admin, say("settings.tab.practitioners"))
    search = admin.get_by_role("search", name=say("practitioners.filters"))
    search.get_by_label(say("common.search")).fill(doctor)
    admin.get_by_test_id("practitioners-table").get_by_role("row", name=doctor).get_by_role(
        "button", name=say("practitioners.timeOff")
    ).click()
    dialog = admin.get_by_role("dialog", name=say("practitioners.timeOffOf", name=doctor))
    expect(dialog.get_by_text(say("practitioners.noAbsences"))).to_be_visible()
    dialog.get_by_label(say("timeOff.from"), exact=True).fill(day.isoformat())
    dialog.get_by_label(say("timeOff.reason")).fill(reason)
    dialog.get_by_role("button", name=say("practitioners.addAbsence")).click()
    return dialog


def _expect_berlin_slots(slots: Any, day: date) -> None:
    """The options read the expected Berlin times and stand for their UTC instants."""
    expected = _expected_slots(day)
    expect(slots).to_have_text([s.strftime("%H:%M") for s in expected])
    starts = [
        datetime.fromisoformat(s)
        for s in slots.evaluate_all("els => els.map(e => e.dataset.startsAt)")
    ]
    assert starts == [s.astimezone(UTC) for s in expected]


def test_a_berlin_clinic_made_in_the_console_is_booked_in_berlin_time_and_a_day_off_strands_it(
    open_session: Any, platform: Any
) -> None:
    day = platform.booking_day
    clinic, service, doctor = _unique("Berlin Mitte"), _unique("Check-up"), _unique("Dr Weber")
    admin = open_session("admin")
    _create_clinic(admin, clinic, IN_ENGLISH)
    row = admin.get_by_test_id("clinics-table").get_by_role("row", name=clinic)
    expect(row).to_contain_text("Europe/Berlin")
    expect(row).to_contain_text(f"Mon {OPENS}{DASH}{CLOSES}")
    expect(row).to_contain_text(f"Fri {OPENS}{DASH}{CLOSES}")
    expect(row).not_to_contain_text("Sat")

    # The API's refusal reads as a sentence in the form: the name is taken.
    admin.get_by_role("button", name="New clinic").click()
    dialog = admin.get_by_role("dialog", name="New clinic")
    dialog.get_by_label("Name", exact=True).fill(clinic)
    dialog.get_by_role("button", name="Create clinic").click()
    expect(dialog.get_by_role("alert")).to_have_text("a record with that name already exists")
    dialog.get_by_role("button", name="Cancel").click()

    dialog = _new_service(admin, service, IN_ENGLISH)
    dialog.get_by_role("button", name="question").click()
    dialog.get_by_label("Question 1", exact=True).fill("First visit?")
    dialog.get_by_label("Answer type of question 1").select_option("yes_no")
    dialog.get_by_role("button", name="Create service").click()
    row = admin.get_by_test_id("services-table").get_by_role("row", name=service)
    expect(row).to_contain_text(f"{SERVICE_MINUTES} min")
    expect(row).to_contain_text("In person")
    expect(row).to_contain_text("First visit? (Yes or no, optional)")

    dialog = _new_practitioner(admin, doctor, service, clinic, IN_ENGLISH)
    dialog.get_by_label("Languages").fill("de, en")
    expect(dialog.get_by_text("German, English")).to_be_visible()
    dialog.get_by_role("button", name="Create practitioner").click()
    row = admin.get_by_test_id("practitioners-table").get_by_role("row", name=doctor)
    expect(row).to_contain_text(f"{clinic} Mon {STARTS}{DASH}{ENDS}")
    expect(row).to_contain_text("German, English")

    # Booking offers the day's slots in Berlin time, each at the UTC instant it stands for.
    slots = _free_times(admin, day, service, clinic, doctor, IN_ENGLISH)
    _expect_berlin_slots(slots, day)
    expect(admin.get_by_text(re.compile("times in Central European"))).to_be_visible()

    # While another day's times are on their way, this day's are no longer offered.
    week_later, held = day + timedelta(days=7), []

    def hold(route: Any) -> None:
        held.append(route)

    admin.route("**/api/booking/availability?*", hold)
    admin.get_by_label("Day", exact=True).fill(week_later.isoformat())
    expect(slots).to_have_count(0)
    for route in held:
        route.continue_()
    admin.unroute("**/api/booking/availability?*", hold)
    _expect_berlin_slots(slots, week_later)
    admin.get_by_label("Day", exact=True).fill(day.isoformat())
    _expect_berlin_slots(slots, day)

    # Book 10:00 for a new client, answering the yes/no question.
    booked_at = datetime.combine(day, time(10, 0), BERLIN)
    slots.filter(has_text="10:00").click()
    form = admin.get_by_role("form", name="New appointment")
    form.get_by_role("button", name="New client").click()
    form.get_by_label("First name").fill("Greta")
    client_name = _unique("Berliner")
    form.get_by_label("Last name").fill(client_name)
    form.get_by_label("Mobile").fill("+49 30 1234567")
    form.get_by_label("First visit?").select_option("yes")
    form.get_by_role("button", name="Book 10:00").click()
    expect(admin.get_by_test_id("booking-message")).to_contain_text(f"Booked: Greta {client_name}")
    expect(slots.filter(has_text="10:00")).to_have_count(0)
    clinics = api_request(platform, "GET", "/api/booking/clinics", "admin")["items"]
    [clinic_id] = [c["clinic_id"] for c in clinics if c["name"] == clinic]
    booked = api_request(
        platform, "GET", f"/api/booking/appointments?date={day}&clinic_id={clinic_id}", "admin"
    )["items"]
    [appointment] = [a for a in booked if a["client_name"] == f"Greta {client_name}"]
    assert datetime.fromisoformat(appointment["starts_at"]) == booked_at

    # The practitioner's day off, added in the console: the appointment is listed there.
    dialog = _add_day_off(admin, doctor, day, "Sick leave", IN_ENGLISH)
    day_text = day.strftime("%d %b %Y")
    expect(dialog.get_by_role("status")).to_have_text(f"Away: {day_text}.")
    expect(dialog.get_by_role("list", name="Absences")).to_contain_text(f"{day_text} Sick leave")
    stranded = dialog.get_by_test_id("to-reschedule").get_by_role(
        "row", name=re.compile(client_name)
    )
    expect(stranded).to_contain_text("The practitioner is away")
    dialog.get_by_role("button", name="Close").click()

    # That day has no slots any more; Booking lists the appointment to reschedule.
    _free_times(admin, day, service, clinic, doctor, IN_ENGLISH)
    expect(admin.get_by_text("No free times on this day.")).to_be_visible()
    listed = admin.get_by_test_id("to-reschedule").get_by_role("row", name=re.compile(client_name))
    expect(listed).to_contain_text(f"{day_text}, 10:00")
    expect(listed).to_contain_text(doctor)
    expect(listed).to_contain_text(clinic)
    expect(listed).to_contain_text("The practitioner is away")
    expect(listed).to_contain_text("Sick leave")
    # Nothing moved it: the day's calendar still has it at 10:00.
    held = admin.get_by_role("list", name=doctor).get_by_role("listitem")
    expect(held).to_contain_text(f"10:00{DASH}10:45")
    expect(held).to_contain_text(f"Greta {client_name}")
    shot = screenshot(admin, "booking-to-reschedule", full_page=True)
    shutil.copyfile(shot, REPO / "docs" / "console" / "booking-to-reschedule.png")
    kept = api_request(
        platform, "GET", f"/api/booking/appointments/{appointment['appointment_id']}", "admin"
    )
    assert (kept["status"], datetime.fromisoformat(kept["starts_at"])) == ("booked", booked_at)

    # Its Reschedule opens the appointment's own dialog on the Booking page.
    listed.get_by_role("link", name="Reschedule").click()
    dialog = admin.get_by_role("dialog", name="Reschedule appointment")
    expect(dialog).to_contain_text(f"Greta {client_name}")
    expect(dialog).to_contain_text(doctor)
    # Moved to the next working day at 09:00, it leaves the list.
    next_day = next_weekday(day)
    dialog.get_by_label("New day").fill(next_day.isoformat())
    dialog.get_by_role("option", name="09:00").click()
    dialog.get_by_role("button", name="Move appointment").click()
    expect(admin.get_by_test_id("booking-message")).to_contain_text("Moved to")
    expect(listed).to_have_count(0)
    moved = api_request(
        platform, "GET", f"/api/booking/appointments/{appointment['appointment_id']}", "admin"
    )
    assert datetime.fromisoformat(moved["starts_at"]) == datetime.combine(
        next_day, time(9, 0), BERLIN
    )


def _berlin_setup_by_api(platform: Any) -> tuple[str, str, str]:
    """A Berlin clinic, service and practitioner made through booking's API (the console's
    own forms are tested above); their ids."""
    tag = uuid.uuid4().hex[:6]
    weekdays = range(5)
    clinic = api_request(
        platform,
        "POST",
        "/api/booking/clinics",
        "admin",
        {
            "name": f"Berlin Ost {tag}",
            "city": "Berlin",
            "time_zone": "Europe/Berlin",
            "opening_hours": [{"weekday": d, "opens": OPENS, "closes": CLOSES} for d in weekdays],
        },
    )["clinic_id"]
    service = api_request(
        platform,
        "POST",
        "/api/booking/services",
        "admin",
        {"name": f"Visit {tag}", "duration_minutes": 30, "meeting_methods": ["in_person"]},
    )["service_id"]
    practitioner = api_request(
        platform,
        "POST",
        "/api/booking/practitioners",
        "admin",
        {
            "name": f"Dr Ost {tag}",
            "clinic_ids": [clinic],
            "service_ids": [service],
            "working_hours": [
                {"clinic_id": clinic, "weekday": d, "starts": STARTS, "ends": ENDS}
                for d in weekdays
            ],
        },
    )["practitioner_id"]
    return clinic, service, practitioner


def test_a_clinic_closed_day_added_and_removed_in_the_console(
    open_session: Any, platform: Any
) -> None:
    day = platform.booking_day
    clinic_id, service_id, practitioner_id = _berlin_setup_by_api(platform)
    client = _unique("Closed")
    api_request(
        platform,
        "POST",
        "/api/booking/appointments",
        "admin",
        {
            "clinic_id": clinic_id,
            "service_id": service_id,
            "practitioner_id": practitioner_id,
            "meeting_method": "in_person",
            "starts_at": datetime.combine(day, time(11, 0), BERLIN).isoformat(),
            "new_client": {"first_name": "Otto", "last_name": client, "mobile": "+4930555000"},
        },
    )
    clinic = next(
        c["name"]
        for c in api_request(platform, "GET", "/api/booking/clinics", "admin")["items"]
        if c["clinic_id"] == clinic_id
    )
    admin = open_session("admin")
    _settings_tab(admin, "Clinics")
    admin.get_by_role("search", name="Filter clinics").get_by_label("Search").fill(clinic)
    admin.get_by_test_id("clinics-table").get_by_role("row", name=clinic).get_by_role(
        "button", name="Closed days"
    ).click()
    dialog = admin.get_by_role("dialog", name=f"Closed days of {clinic}")
    expect(dialog.get_by_text("No closed days.")).to_be_visible()
    expect(dialog.get_by_test_id("to-reschedule")).to_contain_text("Nothing to reschedule.")
    dialog.get_by_label("From", exact=True).fill(day.isoformat())
    dialog.get_by_label("Reason").fill("Public holiday")
    dialog.get_by_role("button", name="Add closed days").click()
    day_text = day.strftime("%d %b %Y")
    expect(dialog.get_by_role("status")).to_have_text(f"Closed on {day_text}.")
    expect(dialog.get_by_role("list", name="Closed days")).to_contain_text(
        f"{day_text} Public holiday"
    )
    stranded = dialog.get_by_test_id("to-reschedule").get_by_role("row", name=re.compile(client))
    expect(stranded).to_contain_text(f"{day_text}, 11:00")
    expect(stranded).to_contain_text("The clinic is closed")
    expect(stranded).to_contain_text("Public holiday")
    # No slots that day while it is closed.
    slots = api_request(
        platform,
        "GET",
        f"/api/booking/availability?clinic_id={clinic_id}&service_id={service_id}&date={day}",
        "admin",
    )["slots"]
    assert slots == []

    dialog.get_by_role("list", name="Closed days").get_by_role("button", name="Remove").click()
    expect(dialog.get_by_role("status")).to_have_text(f"{day_text} is open again.")
    expect(dialog.get_by_text("No closed days.")).to_be_visible()
    expect(stranded).to_have_count(0)


def test_managers_read_the_directory_and_operators_see_what_booking_needs(
    open_session: Any,
) -> None:
    manager = open_session("maria")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(manager.get_by_role("tab")).to_have_text(
        ["Operators", "Call centers", "Clinics", "Practitioners", "Services"]
    )
    for tab, table, new in (
        ("Clinics", "clinics-table", "New clinic"),
        ("Practitioners", "practitioners-table", "New practitioner"),
        ("Services", "services-table", "New service"),
        ("Operators", "operators-table", "New operator"),
    ):
        manager.get_by_role("tab", name=tab, exact=True).click()
        expect(manager.get_by_test_id(table).get_by_role("row").nth(1)).to_be_visible()
        expect(manager.get_by_role("button", name=new)).to_have_count(0)
        expect(manager.get_by_role("button", name="Edit")).to_have_count(0)
        expect(manager.get_by_role("columnheader", name="Actions")).to_have_count(0)
    manager.get_by_role("tab", name="Practitioners", exact=True).click()
    expect(manager.get_by_test_id("practitioners-table")).to_contain_text("Moscow Center")
    manager.goto("/booking")
    expect(manager.get_by_role("heading", name="Booking")).to_be_visible()
    expect(manager.get_by_test_id("to-reschedule")).to_have_count(0)

    anna = open_session("anna")
    anna.goto("/booking")
    expect(anna.get_by_test_id("to-reschedule")).to_be_visible()
    anna.goto("/settings")
    expect(anna.get_by_role("heading", name="Not available")).to_be_visible()


def test_a_berlin_clinic_made_in_russian_is_booked_in_berlin_time_and_a_day_off_empties_it(
    open_session: Any, platform: Any
) -> None:
    say, day = IN_RUSSIAN, platform.booking_day
    clinic, service, doctor = _unique("Берлин"), _unique("Осмотр"), _unique("Д-р Вебер")  # noqa: RUF001
    admin = open_session("admin")
    admin.get_by_label(IN_ENGLISH("layout.language")).select_option("ru")
    expect(admin.locator("html")).to_have_attribute("lang", "ru")
    _create_clinic(admin, clinic, say)
    row = admin.get_by_test_id("clinics-table").get_by_role("row", name=clinic)
    expect(row).to_contain_text(f"пн {OPENS}{DASH}{CLOSES}")

    _new_service(admin, service, say).get_by_role("button", name=say("services.create")).click()
    expect(admin.get_by_test_id("services-table").get_by_role("row", name=service)).to_be_visible()
    dialog = _new_practitioner(admin, doctor, service, clinic, say)
    dialog.get_by_role("button", name=say("practitioners.create")).click()
    row = admin.get_by_test_id("practitioners-table").get_by_role("row", name=doctor)
    expect(row).to_contain_text(f"{clinic} пн {STARTS}{DASH}{ENDS}")

    _expect_berlin_slots(_free_times(admin, day, service, clinic, doctor, say), day)

    dialog = _add_day_off(admin, doctor, day, "Больничный", say)
    expect(dialog.get_by_role("list", name=say("practitioners.absences"))).to_contain_text(
        "Больничный"
    )
    dialog.get_by_role("button", name=say("common.close")).click()
    _free_times(admin, day, service, clinic, doctor, say)
    expect(admin.get_by_text(say("booking.noFreeTimes"))).to_be_visible()


def test_the_clinics_tab_and_its_form_in_russian(open_session: Any) -> None:
    admin = open_session("admin")
    admin.get_by_label("Console language").select_option("ru")
    admin.goto("/settings")
    admin.get_by_role("tab", name="Клиники", exact=True).click()
    expect(admin.get_by_role("heading", name="Клиники", exact=True)).to_be_visible()
    expect(admin.get_by_test_id("clinics-table").locator("thead th")).to_have_text(
        ["Название", "Город", "Часовой пояс", "Часы работы", "Статус", "Действия"]
    )
    admin.get_by_role("button", name="Новая клиника").click()
    dialog = admin.get_by_role("dialog", name="Новая клиника")
    dialog.get_by_label("Название", exact=True).fill(_unique("Клиника"))
    dialog.get_by_label("Часовой пояс", exact=True).select_option("Europe/Berlin")
    dialog.get_by_role("button", name="Добавить часы: понедельник").click()
    dialog.get_by_label("понедельник, с").fill("18:00")  # noqa: RUF001
    dialog.get_by_label("понедельник, до").fill("09:00")
    dialog.get_by_role("button", name="Создать клинику").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        "Часы должны заканчиваться позже, чем начинаются: понедельник."
    )
    dialog.get_by_role("button", name="Отменить").click()
    admin.get_by_label("Язык консоли").select_option("en")
