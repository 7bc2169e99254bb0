"""The console in Russian and English: an operator switches language in the header, it is
remembered for them (and only them) in the browser, a Russian browser opens the console in
Russian, and the main pages — call log, pop-up, current-call panel, booking, reports and
their service level, call-backs, numbers and clinics, the audit trail — read in Russian with
dates, durations and percentages written the Russian way. Expected texts are written here,
and dates computed here with Python, not with the console's code."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from live_platform import api_get, api_request, iso, screenshot, send_pbx
from playwright.sync_api import expect

# CLDR's abbreviated Russian month names, as Intl writes them in a date ("04 нояб. 2025").
RU_MONTHS = [
    "янв.",
    "февр.",
    "мар.",
    "апр.",
    "мая",
    "июн.",
    "июл.",
    "авг.",
    "сент.",
    "окт.",
    "нояб.",
    "дек.",
]

# A call on a fixed day long past, so its row and its report day never depend on today.
CALL_START = datetime(2025, 11, 4, 7, 5, 9, tzinfo=UTC)
WAIT_SECONDS, TOTAL_SECONDS = 5, 65

# English the console writes itself: none of it may show on a Russian page (seed data such as
# clinic and doctor names stays as entered).
ENGLISH = [
    "Call log", "Log out", "Refresh", "Export CSV", "Date and time", "Call type", "Disposition",
    "Missed only", "More filters", "All time", "Period", "Call types", "Any admin", "Recording",
    "No calls match", "Newer", "Older", "Incoming call", "I'll take it", "Book appointment",
    "Find contact", "Unknown number", "Free times", "Meeting method", "Anyone available",
    "Notes for the attendees", "Private notes", "Find client", "Attendees", "Calls report",
    "By days", "Avg talk", "Avg wait", "Live calls", "Skip to content", "Search calls",
    "Name, phone or email", "Previous day", "Next day", "Loading",
    # The current-call panel, Call-backs and Settings → Numbers and clinics.
    "On call", "Wrap-up", "Call finished", "talked", "Open the card", "The call's touch",
    "Not set", "Dismiss", "Upcoming appointments", "Past appointments", "Call-backs",
    "Claimed by", "Attempts", "Oldest waiting", "Per clinic", "All clinics",
    "Nobody is waiting", "Missed calls nobody", "Wrong number", "Resolved elsewhere",
    " waiting", "Numbers and clinics", "Public numbers", "Extensions by clinic", "Add number",
    "Add extension", "Description", "not set up", "Save changes", "is required",
    # The Reports page's service level section and Settings → Audit.
    "Service level", "Answer rate", "Abandoned", "speed of answer", "Median call-back delay",
    "of incoming calls", "answered within", "Line chart", "Audit trail", "Audit filters",
    "Audit records", "Any action", "Record id", "Show older", "No records match",
    "Client card viewed", "Recording listened", "Call log exported", "Operator changed",
]  # fmt: skip

WORKLIST_HEADERS_RU = [
    "Номер", "Контакт", "Попыток", "Пропущен", "Ждёт", "Клиника", "Доб.",
    "Взял(а)",  # noqa: RUF001 (Russian, not look-alike Latin)
]  # fmt: skip
DID_HEADERS_RU = ["Номер", "Клиника", "Описание", "Действия"]
EXTENSION_HEADERS_RU = ["Добавочный", "Клиника", "Описание", "Операторы", "Действия"]

KPI_HEADERS_RU = [
    "День", "Входящие", "Доля отвеченных", "Доля брошенных", "Уровень обслуживания",
    "Ср. время ответа",  # noqa: RUF001 (Russian, not look-alike Latin)
    "Время ответа, 90-й процентиль", "Перезвонили",
    "Медиана задержки перезвона",
]  # fmt: skip
AUDIT_HEADERS_RU = ["Когда", "Кто", "Действие", "Запись", "Подробности", "Откуда"]

CALL_LOG_HEADERS_RU = [
    "Дата и время", "Тип звонка", "Откуда", "Куда", "Результат", "Администратор", "Разговор",
    "Ожидание", "Всего", "Доб.", "Клиника", "Запись",  # noqa: RUF001 (Russian, not look-alike Latin)
]  # fmt: skip


def ru_date_time(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{ru_date(local)}, {local:%H:%M}"


def ru_date(local: datetime) -> str:
    return f"{local:%d} {RU_MONTHS[local.month - 1]} {local.year} г."  # noqa: RUF001


def ru_duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} мин {rest:02d} с" if minutes else f"{rest} с"  # noqa: RUF001


def ru_waiting(count: int) -> str:
    """The call-back count's label: Russian agrees the verb with the number."""
    one = count % 10 == 1 and count % 100 != 11
    return f"{count} {'ждёт' if one else 'ждут'}"


def no_english(page: Any) -> None:
    """Neither the visible text nor the labels, placeholders and titles use a known English
    string."""
    expect(page.locator("body")).not_to_have_text(re.compile("|".join(map(re.escape, ENGLISH))))
    labels = page.evaluate(
        """() => [...document.querySelectorAll('[aria-label],[placeholder],[title]')]
             .flatMap(el => ['aria-label', 'placeholder', 'title'].map(a => el.getAttribute(a)))
             .filter(Boolean)"""
    )
    leaked = [label for label in labels if any(english in label for english in ENGLISH)]
    assert leaked == []


def log_in(page: Any, username: str, *, user_label: str, password_label: str, sign_in: str) -> None:
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label).fill(username)
    page.get_by_role("button", name=sign_in).click()
    page.get_by_test_id("whoami").wait_for()


@pytest.fixture
def russian_browser(browser: Any, platform: Any) -> Iterator[Any]:
    """A browser context whose browser language is Russian."""
    context = browser.new_context(
        base_url=platform.console_url, viewport={"width": 1280, "height": 800}, locale="ru-RU"
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def fixed_day_call(platform: Any) -> dict[str, Any]:
    """An answered call on CALL_START from a number of its own, once it is in the call log."""
    call_id = f"e2e-lang-{uuid.uuid4().hex[:10]}"
    caller = f"+7495{uuid.uuid4().int % 10_000_000:07d}"
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(CALL_START),
                "from": caller,
                "to": "101",
                "extension": "101",
            },
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": iso(CALL_START + timedelta(seconds=WAIT_SECONDS)),
                "extension": "101",
                "operator_id": "op-anna",
            },
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": iso(CALL_START + timedelta(seconds=TOTAL_SECONDS)),
                "status": "answered",
            },
        ],
    )
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        rows = api_get(platform, f"/api/analytics/calls?q={caller[1:]}&limit=5", "admin")
        row = next((r for r in rows["items"] if r["call_id"] == call_id), None)
        if row is not None:
            return {**row, "caller": caller}
        assert datetime.now(UTC) < deadline, f"{call_id} not in the call log"
        time.sleep(0.25)  # polling the API until the projection has the call


def test_operator_switches_to_russian_call_log_and_pop_up_then_it_is_remembered(
    open_session: Any, platform: Any, fixed_day_call: dict[str, Any]
) -> None:
    page = open_session("anna")
    nav = page.get_by_role("navigation", name="Main")
    # Call-backs carries the count of numbers waiting (whatever earlier tests left there).
    expect(nav.get_by_role("link")).to_have_text(
        ["Call log", re.compile("^Call-backs"), "Clients", "Booking"]
    )
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Console language").select_option("ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    nav = page.get_by_role("navigation", name="Главное меню")
    expect(nav.get_by_role("link")).to_have_text(
        ["Журнал звонков", re.compile("^Перезвоны"), "Клиенты", "Запись"]
    )
    expect(page.get_by_test_id("whoami")).to_contain_text("Колл-центр · доб. 101")
    expect(page.get_by_test_id("notify-state")).to_have_text("Звонки на связи", timeout=30_000)

    # The call log: Russian headers, the fixed call's date and duration written the Russian way.
    page.goto("/calls")
    table = page.get_by_test_id("call-log")
    expect(page.get_by_role("heading", name="Журнал звонков")).to_be_visible()
    page.get_by_role("searchbox", name="Поиск звонков").fill(fixed_day_call["caller"])
    row = table.locator(f'tr[data-call-id="{fixed_day_call["call_id"]}"]')
    expect(table.locator("tbody tr[data-call-id]")).to_have_count(1)
    headers = table.locator("thead th")
    for header in CALL_LOG_HEADERS_RU:
        expect(headers.filter(has_text=header).first).to_be_visible()
    zone = fixed_day_call.get("time_zone") or "Europe/Moscow"
    # As telephony recorded it: a time lag saved by another test may have moved the PBX's clock.
    recorded = datetime.fromisoformat(fixed_day_call["started_at"])
    expect(row).to_contain_text(ru_date_time(recorded, zone))
    expect(row).to_contain_text(ru_date_time(recorded, "UTC") + " UTC")
    expect(row).to_contain_text("Входящий")
    expect(row).to_contain_text("Отвечен")
    expect(row.locator("td.num").nth(2)).to_have_text(ru_duration(TOTAL_SECONDS))
    expect(row.locator("td.num").nth(1)).to_have_text(ru_duration(WAIT_SECONDS))
    no_english(page)
    screenshot(page, "call-log-ru")

    # A pop-up in Russian.
    call_id = f"e2e-lang-popup-{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC)
    caller = f"+7495{uuid.uuid4().int % 10_000_000:07d}"
    start_event = {
        "type": "call.started",
        "call_id": call_id,
        "timestamp": iso(started),
        "from": caller,
        "to": "101",
        "extension": "101",
    }
    send_pbx(platform, [start_event])
    popup = page.locator(f'[data-testid="call-popup"][data-call-id="{call_id}"]')
    expect(popup).to_be_visible(timeout=20_000)
    expect(popup).to_contain_text("Входящий звонок")
    expect(popup.get_by_role("button", name="Беру")).to_be_visible()
    expect(popup.get_by_role("button", name="Записать на приём")).to_be_visible()
    expect(popup).to_contain_text("доб. 101")
    no_english(page)
    end_event = {
        "type": "call.ended",
        "call_id": call_id,
        "timestamp": iso(started + timedelta(seconds=20)),
        "status": "no_answer",
    }
    send_pbx(platform, [end_event])
    expect(popup.get_by_role("status")).to_have_text("Звонок завершился без ответа")

    # The current-call panel: Anna answers, the call ends into wrap-up, she dismisses it.
    call_id = f"e2e-lang-current-{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC)
    caller = f"+7495{uuid.uuid4().int % 10_000_000:07d}"
    send_pbx(
        platform,
        [
            {**start_event, "call_id": call_id, "timestamp": iso(started), "from": caller},
            {
                "type": "call.answered",
                "call_id": call_id,
                "timestamp": iso(started + timedelta(seconds=5)),
                "extension": "101",
                "operator_id": "op-anna",
            },
        ],
    )
    panel = page.locator(f'[data-testid="current-call"][data-call-id="{call_id}"]')
    expect(panel.get_by_test_id("current-call-state")).to_have_text("Идёт разговор", timeout=20_000)
    end_event = {**end_event, "call_id": call_id, "status": "answered"}
    send_pbx(platform, [{**end_event, "timestamp": iso(started + timedelta(seconds=35))}])
    expect(panel.get_by_test_id("current-call-state")).to_have_text("Постобработка", timeout=20_000)
    expect(panel).to_contain_text(f"разговор {ru_duration(30)}")
    no_english(page)
    panel.get_by_role("button", name="Завершить").click()
    expect(panel).to_have_count(0)

    # Booking in Russian.
    page.goto("/booking")
    expect(page.get_by_role("heading", name="Запись", exact=True)).to_be_visible()
    for label in ("Услуга", "Формат приёма", "Клиника", "Врач"):
        expect(page.get_by_role("combobox", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Свободное время")).to_be_visible()
    expect(page.get_by_role("button", name="Записать", exact=True)).to_be_disabled()
    no_english(page)

    # Remembered for Anna, not for Boris, on this browser (whose own language is English).
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    log_in(page, "boris", user_label="Username", password_label="Password", sign_in="Sign in")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    log_in(page, "anna", user_label="Username", password_label="Password", sign_in="Sign in")
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    # And back to English, remembered too.
    page.get_by_label("Язык консоли").select_option("en")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_russian_browser_opens_the_console_and_reports_in_russian(
    russian_browser: Any, fixed_day_call: dict[str, Any]
) -> None:
    page = russian_browser.new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_text("Вход в консоль оператора")).to_be_visible()
    page.get_by_label("Имя пользователя").fill("admin")
    page.get_by_label("Пароль").fill("wrong")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text("Неверное имя пользователя или пароль.")
    log_in(page, "admin", user_label="Имя пользователя", password_label="Пароль", sign_in="Войти")
    expect(page.get_by_label("Язык консоли")).to_have_value("ru")

    page.goto("/reports")
    expect(page.get_by_role("heading", name="Отчёт по звонкам")).to_be_visible()
    page.get_by_role("button", name="По дням", exact=True).click()
    table = page.get_by_test_id("report-table")
    expect(table).to_have_attribute("data-group-by", "day")
    headers = ("День", "Входящий", "Исходящий", "Пропущенные", "Звонков", "Ср. разговор")  # noqa: RUF001
    for header in headers:
        expect(table.locator("thead")).to_contain_text(header)
    # The fixed call's day, as Russian writes a date.
    started = datetime.fromisoformat(fixed_day_call["started_at"])
    local = started.astimezone(ZoneInfo(fixed_day_call.get("time_zone") or "Europe/Moscow"))
    expect(table.locator("tbody th", has_text=ru_date(local))).to_be_visible()
    no_english(page)

    # The service level section of the same period: Russian headers, Russian percentages.
    expect(page.get_by_role("heading", name="Уровень обслуживания")).to_be_visible()
    kpis = page.get_by_test_id("kpi-table")
    expect(kpis.locator("thead th")).to_have_text(KPI_HEADERS_RU)
    kpi_row = kpis.locator("tbody tr").filter(has=page.locator("th", has_text=ru_date(local)))
    answer_rate = kpi_row.locator('td[data-column="answer_rate"]')
    # Intl writes "100,0 %" with a no-break space.
    expect(answer_rate).to_have_text(re.compile(r"^\d{1,3},\d\s%$"))
    expect(page.get_by_test_id("kpi-targets")).to_contain_text("ответ в течение")
    expect(page.get_by_test_id("kpi-chart").get_by_role("img")).to_have_attribute(
        "aria-label",
        "Линейный график уровня обслуживания, доли отвеченных и брошенных звонков",
    )
    no_english(page)

    page.get_by_role("button", name="График", exact=True).click()
    chart = page.get_by_test_id("report-chart")
    expect(chart.get_by_role("img")).to_have_attribute(
        "aria-label", "Столбчатая диаграмма звонков, По дням"
    )
    no_english(page)
    screenshot(page, "reports-chart-ru")

    # Switched to English on the page, the section and both charts follow at once.
    page.get_by_label("Язык консоли").select_option("en")
    expect(page.get_by_role("heading", name="Service level")).to_be_visible()
    english_day = page.locator("th", has_text=f"{local:%d} {local:%b} {local.year}")
    english_row = kpis.locator("tbody tr").filter(has=english_day)
    expect(english_row.locator('td[data-column="answer_rate"]')).to_have_text(
        re.compile(r"^\d{1,3}\.\d%$")
    )
    expect(chart.get_by_role("img")).to_have_attribute("aria-label", "Bar chart of calls, By days")
    screenshot(page, "reports-chart-en")


def test_audit_trail_reads_in_russian(russian_browser: Any, platform: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    client = api_request(
        platform,
        "POST",
        "/api/booking/clients",
        "anna",
        {"first_name": "Vera", "last_name": f"Audit{tag}", "email": f"vera-{tag}@example.com"},
    )
    page = russian_browser.new_page()
    page.goto("/")
    log_in(page, "admin", user_label="Имя пользователя", password_label="Пароль", sign_in="Войти")
    # The admin opens the client's card: a view the trail keeps.
    page.goto(f"/clients/{client['client_id']}")
    expect(page.get_by_text(f"Audit{tag}").first).to_be_visible()

    page.get_by_role("link", name="Настройки").click()
    page.get_by_role("tab", name="Журнал аудита").click()
    trail = page.get_by_role("region", name="Журнал аудита")
    table = trail.get_by_role("table", name="Записи журнала аудита")
    expect(table.locator("thead th")).to_have_text(AUDIT_HEADERS_RU)
    filters = trail.get_by_role("form", name="Фильтры журнала аудита")
    filters.get_by_role("combobox", name="Действие").select_option(
        label="Просмотр карточки клиента"
    )
    filters.get_by_label("ID записи").fill(client["client_id"])
    row = table.locator(f'tr[data-action="client.viewed"][data-subject-id="{client["client_id"]}"]')
    # The record travels to analytics as an event: ask again until it is there.
    for _ in range(20):
        filters.get_by_role("button", name="Показать").click()
        with contextlib.suppress(AssertionError):
            expect(row.first).to_be_visible(timeout=1_500)
            break
    expect(row.first).to_be_visible()
    cells = row.first.locator("td")
    expect(cells.nth(1)).to_contain_text("Администратор")
    expect(cells.nth(2)).to_have_text("Просмотр карточки клиента")
    expect(cells.nth(3)).to_contain_text("Клиент")
    no_english(page)
    screenshot(page, "audit-ru")


def test_call_backs_and_numbers_read_in_russian(russian_browser: Any, platform: Any) -> None:
    # A number missed a few minutes ago, waiting for a call-back.
    number = f"+7916{uuid.uuid4().int % 10_000_000:07d}"
    call_id = f"e2e-lang-missed-{uuid.uuid4().hex[:8]}"
    missed_at = datetime.now(UTC) - timedelta(minutes=7)
    send_pbx(
        platform,
        [
            {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": iso(missed_at),
                "from": number,
                "to": "101",
                "extension": "101",
            },
            {
                "type": "call.ended",
                "call_id": call_id,
                "timestamp": iso(missed_at + timedelta(seconds=30)),
                "status": "no_answer",
            },
        ],
    )
    page = russian_browser.new_page()
    page.goto("/")
    log_in(page, "admin", user_label="Имя пользователя", password_label="Пароль", sign_in="Войти")

    page.get_by_role("link", name=re.compile("^Перезвоны")).click()
    expect(page.get_by_role("heading", name="Перезвоны", exact=True)).to_be_visible()
    table = page.get_by_test_id("worklist")
    expect(table.locator("thead th")).to_have_text([*WORKLIST_HEADERS_RU, "Действия"])
    row = table.locator(f'tr[data-number="{number}"]')
    expect(row.locator("td").nth(2)).to_have_text("1")
    # The missed call's time as telephony recorded it (a time lag saved by another test may
    # have moved the PBX's clock), in its clinic's zone; how long it has waited; the Russian way.
    waiting = api_get(platform, "/api/analytics/worklist?limit=200", "admin")["items"]
    item = next(item for item in waiting if item["number"] == number)
    clinics = api_get(platform, "/api/booking/clinics", "admin")["items"]
    zone = next((c["time_zone"] for c in clinics if c["clinic_id"] == item["clinic_id"]), "UTC")
    recorded = datetime.fromisoformat(item["first_missed_at"])
    expect(row.locator("td").nth(3)).to_have_text(ru_date_time(recorded, zone))
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^(\d+ (дн\.|ч) )?\d+ (мин|ч)$"))
    badge = page.get_by_test_id("callbacks-count")
    expect(badge).to_have_attribute("aria-label", ru_waiting(int(badge.inner_text())))
    no_english(page)
    # Closed with a result, in Russian: it leaves the list.
    row.get_by_role("combobox", name="Итог").select_option(label="Ошибочный номер")
    row.get_by_role("button", name="Закрыть").click()
    expect(row).to_have_count(0)

    page.get_by_role("link", name="Настройки").click()
    page.get_by_role("tab", name="Номера и клиники").click()
    dids = page.get_by_role("region", name="Городские номера (DID)")
    expect(dids.locator("thead th")).to_have_text(DID_HEADERS_RU)
    extensions = page.get_by_role("region", name="Добавочные номера по клиникам")
    expect(extensions.locator("thead th")).to_have_text(EXTENSION_HEADERS_RU)
    # The console's own checks, in Russian.
    add_did = dids.get_by_role("form", name="Добавить номер")
    add_did.get_by_role("button", name="Добавить номер").click()
    expect(add_did.get_by_text("Укажите номер.")).to_be_visible()
    expect(add_did.get_by_text("Выберите клинику.")).to_be_visible()
    no_english(page)
