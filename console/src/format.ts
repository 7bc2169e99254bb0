/** Display helpers: times in a clinic's time zone, durations, labels. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = timeZone + JSON.stringify(options);
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-GB", { ...options, timeZone });
    } catch {
      f = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
    }
    formatters.set(key, f);
  }
  return f;
}

/** `25 Nov 2026, 10:00` in `timeZone` (the clinic's), or UTC. */
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

/** `Wed 25 Nov` in `timeZone`. */
export function day(iso: string, timeZone = "UTC"): string {
  return formatter(timeZone, { weekday: "short", day: "2-digit", month: "short" }).format(new Date(iso));
}

/** A short zone label: `Europe/Moscow` → `Moscow`. */
export function zoneLabel(timeZone: string): string {
  return timeZone.split("/").pop()?.replace(/_/g, " ") ?? timeZone;
}

/** Seconds as `m:ss` or `h:mm:ss`; empty for none. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  const s = Math.round(Number(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** `+79161234567` → `+7 916 123-45-67`; other numbers unchanged. */
export function phone(value: string | null | undefined): string {
  if (!value) return "";
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(value);
  if (m) return `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}`;
  return value;
}

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function todayIn(timeZone = "UTC"): string {
  return dateIn(new Date().toISOString(), timeZone);
}

/** The local date (YYYY-MM-DD) of an instant in `timeZone`. */
export function dateIn(iso: string, timeZone = "UTC"): string {
  const parts = formatter(timeZone, { year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(
    new Date(iso),
  );
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
  // Guess UTC midnight, then correct by the zone's offset at that instant (twice, for DST).
  let guess = Date.parse(isoDate + "T00:00:00Z");
  for (let i = 0; i < 2; i++) {
    const parts = formatter(timeZone, {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
    }).formatToParts(new Date(guess));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
    const offset = asUtc - guess;
    guess = Date.parse(isoDate + "T00:00:00Z") - offset;
  }
  return new Date(guess).toISOString();
}

export const meetingMethodLabel: Record<string, string> = {
  in_person: "In person",
  video: "Video",
  phone: "Phone",
};

export const roleLabel: Record<string, string> = {
  admin: "Admin",
  call_centre: "Call centre",
  clinic_staff: "Clinic staff",
  manager: "Manager",
};

export const languageLabel: Record<string, string> = {
  ru: "Russian",
  en: "English",
  de: "German",
  fr: "French",
  es: "Spanish",
};

/** `employee_day` → `Employee day`. */
export function humanize(key: string): string {
  const text = key.replace(/[_.]+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Minutes since local midnight of `iso` in `timeZone`. */
export function minutesOfDay(iso: string, timeZone: string): number {
  const parts = formatter(timeZone, { hour: "2-digit", minute: "2-digit", hour12: false }).formatToParts(
    new Date(iso),
  );
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return (get("hour") % 24) * 60 + get("minute");
}
