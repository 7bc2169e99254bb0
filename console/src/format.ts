/** Display helpers: times in a clinic's time zone, numbers and durations, in the operator's
 * language (its Intl locale, from `i18n.ts`). */
import { intlLocale } from "./i18n";

const formatters = new Map<string, Intl.DateTimeFormat>();

// Calendar arithmetic below reads dates as digits, so it keeps one fixed locale.
const DIGITS_LOCALE = "en-GB";

function formatter(
  timeZone: string,
  options: Intl.DateTimeFormatOptions,
  locale: string = intlLocale(),
): Intl.DateTimeFormat {
  const key = locale + timeZone + JSON.stringify(options);
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    } catch {
      f = new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" });
    }
    formatters.set(key, f);
  }
  return f;
}

/** `25 Nov 2026, 10:00` (`25 нояб. 2026 г., 10:00`) in `timeZone` (the clinic's), or UTC. */
export function dateTime(iso: string | null | undefined, timeZone = "UTC"): string {
  if (!iso) return "";
  return formatter(timeZone, {
    day: "2-digit",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(new Date(iso));
}

/** `10:00` in `timeZone`. */
export function time(iso: string | null | undefined, timeZone = "UTC"): string {
  if (!iso) return "";
  return formatter(timeZone, { hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date(iso));
}

/** A calendar day (YYYY-MM-DD) as `25 Nov 2026` (`25 нояб. 2026 г.`); other text unchanged. */
export function calendarDay(isoDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) return isoDate;
  return formatter("UTC", { day: "2-digit", month: "short", year: "numeric" }).format(new Date(isoDate + "T12:00:00Z"));
}

/** A month (YYYY-MM) as `Nov 2026` (`нояб. 2026 г.`); other text unchanged. */
export function calendarMonth(isoMonth: string): string {
  if (!/^\d{4}-\d{2}$/.test(isoMonth)) return isoMonth;
  return formatter("UTC", { month: "short", year: "numeric" }).format(new Date(isoMonth + "-15T12:00:00Z"));
}

/** `Wed 25 Nov` (`ср, 25 нояб.`) in `timeZone`. */
export function day(iso: string, timeZone = "UTC"): string {
  return formatter(timeZone, { weekday: "short", day: "2-digit", month: "short" }).format(new Date(iso));
}

/** A time zone as the current language names it: `Europe/Moscow` → `Moscow Standard Time` / `Москва, стандартное время`. */
export function zoneLabel(timeZone: string): string {
  const parts = formatter(timeZone, { timeZoneName: "longGeneric" }).formatToParts(new Date());
  return parts.find((p) => p.type === "timeZoneName")?.value ?? timeZone;
}

const unitFormatters = new Map<string, Intl.NumberFormat>();

function unit(name: "day" | "hour" | "minute" | "second", padded: boolean): Intl.NumberFormat {
  const locale = intlLocale();
  const key = `${locale} ${name} ${padded}`;
  let f = unitFormatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: "unit",
      unit: name,
      unitDisplay: "short",
      minimumIntegerDigits: padded ? 2 : 1,
    });
    unitFormatters.set(key, f);
  }
  return f;
}

/** Seconds as `1 min 05 sec` (`1 мин 05 с`), `1 hr 02 min 05 sec`, `45 sec`; empty for none.
 * Intl.NumberFormat's unit style names the units in the current language. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  const s = Math.round(Number(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts: string[] = [];
  if (h) parts.push(unit("hour", false).format(h));
  if (h || m) parts.push(unit("minute", Boolean(h)).format(m));
  parts.push(unit("second", Boolean(h || m)).format(s % 60));
  return parts.join(" ");
}

/** How long something has waited, coarsely: `5 min`, `2 hr 5 min`, `3 days 4 hr`
 * (`5 мин`, `2 ч 5 мин`, `3 дн. 4 ч`); the units as Intl names them in the current language. */
export function waited(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  const minutes = Math.max(0, Math.floor(seconds / 60));
  if (minutes < 60) return unit("minute", false).format(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${unit("hour", false).format(hours)} ${unit("minute", false).format(minutes % 60)}`;
  return `${unit("day", false).format(Math.floor(hours / 24))} ${unit("hour", false).format(hours % 24)}`;
}

/** An ISO weekday (1 = Monday … 7 = Sunday) as the current language names it (`Mon` / `пн`). */
export function weekdayName(isoWeekday: number, width: "short" | "long" = "short"): string {
  // 2024-01-01 was a Monday.
  return formatter("UTC", { weekday: width }).format(new Date(Date.UTC(2024, 0, isoWeekday, 12)));
}

/** A share 0-1 as a percentage in the current language (`12.5%` / `12,5 %`). */
export function share(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  return new Intl.NumberFormat(intlLocale(), { style: "percent", maximumFractionDigits: 1 }).format(value);
}

/** A whole number as the current language writes it (`12,345` / `12 345`). */
export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "";
  return new Intl.NumberFormat(intlLocale()).format(value);
}

const percentFormatters = new Map<string, Intl.NumberFormat>();

/** A share (0.5 for half) as the current language writes a percentage, with one decimal:
 * `50.0%` / `50,0 %`; empty for none. */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) return "";
  const locale = intlLocale();
  let f = percentFormatters.get(locale);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
    percentFormatters.set(locale, f);
  }
  return f.format(share);
}

/** `+79161234567` → `+7 916 123-45-67`; other numbers unchanged. */
export function phone(value: string | null | undefined): string {
  if (!value) return "";
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(value);
  if (m) return `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}`;
  return value;
}

/** Local dates as one day or a span: `1 May 2027` or `1 May 2027 – 3 May 2027`. */
export function dayRange(startsOn: string, endsOn: string | null): string {
  return !endsOn || endsOn === startsOn ? calendarDay(startsOn) : `${calendarDay(startsOn)} – ${calendarDay(endsOn)}`;
}

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function todayIn(timeZone = "UTC"): string {
  return dateIn(new Date().toISOString(), timeZone);
}

/** The local date (YYYY-MM-DD) of an instant in `timeZone`. */
export function dateIn(iso: string, timeZone = "UTC"): string {
  const parts = formatter(
    timeZone,
    { year: "numeric", month: "2-digit", day: "2-digit" },
    DIGITS_LOCALE,
  ).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Adds `days` to a YYYY-MM-DD date. */
export function addDays(isoDate: string, days: number): string {
  const d = new Date(isoDate + "T12:00:00Z");
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The UTC instant of local midnight starting `isoDate` in `timeZone` (DST-correct). */
export function startOfDayIn(isoDate: string, timeZone: string): string {
  return instantIn(isoDate, "00:00", timeZone);
}

/** The UTC instant of the wall-clock time `hhmm` on `isoDate` in `timeZone` (DST-correct). */
export function instantIn(isoDate: string, hhmm: string, timeZone: string): string {
  // Guess the time as UTC, then correct by the zone's offset at that instant (twice, for DST).
  const wall = Date.parse(`${isoDate}T${hhmm}:00Z`);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const parts = formatter(
      timeZone,
      {
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hour12: false,
      },
      DIGITS_LOCALE,
    ).formatToParts(new Date(guess));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
    const offset = asUtc - guess;
    guess = wall - offset;
  }
  return new Date(guess).toISOString();
}

/** A zone's offset from UTC now, as `UTC+01:00` (`UTC` when none). */
export function zoneOffset(timeZone: string, at: Date = new Date()): string {
  const parts = formatter(timeZone, { timeZoneName: "longOffset" }, DIGITS_LOCALE).formatToParts(at);
  const name = parts.find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  return name === "GMT" ? "UTC" : name.replace("GMT", "UTC");
}

/** Every IANA time zone the browser knows, with `current` kept in the list. */
export function timeZones(current = ""): string[] {
  const known = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return Array.from(new Set([...known, "UTC", ...(current ? [current] : [])])).sort();
}

/** Minutes since local midnight of `iso` in `timeZone`. */
export function minutesOfDay(iso: string, timeZone: string): number {
  const parts = formatter(timeZone, { hour: "2-digit", minute: "2-digit", hour12: false }, DIGITS_LOCALE).formatToParts(
    new Date(iso),
  );
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return (get("hour") % 24) * 60 + get("minute");
}

/** A language code as the current language names it: `ru` → `Russian` / `Русский`. */
export function languageName(code: string): string {
  const locale = intlLocale();
  const name = new Intl.DisplayNames(locale, { type: "language" }).of(code) ?? code;
  return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
}
