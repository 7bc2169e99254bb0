/** A week of hours in a clinic's local time: for each weekday none (closed), one span or
 * several (a split shift). Used for clinics' opening hours and practitioners' working hours. */
import { useTranslation } from "react-i18next";
import type { Weekday } from "../api";
import { weekdayName } from "../format";

/** One span on one weekday, HH:MM to HH:MM. */
export interface Span {
  weekday: Weekday;
  from: string;
  until: string;
}

export const WEEKDAYS: Weekday[] = [0, 1, 2, 3, 4, 5, 6];

/** Spans whose end is not after their start, by weekday name (for the form's message). */
export function badSpans(spans: Span[]): string[] {
  return spans.filter((s) => !s.from || !s.until || s.until <= s.from).map((s) => weekdayName(s.weekday + 1, "long"));
}

/** The spans as a short line: `Mon 09:00–18:00, Tue 09:00–13:00 14:00–18:00`. */
export function spansText(spans: Span[]): string {
  return WEEKDAYS.map((d) => {
    const day = spans.filter((s) => s.weekday === d).sort((a, b) => a.from.localeCompare(b.from));
    return day.length ? `${weekdayName(d + 1)} ${day.map((s) => `${s.from}–${s.until}`).join(" ")}` : "";
  })
    .filter(Boolean)
    .join(", ");
}

export default function WeekHours({
  spans,
  onChange,
  label,
  idPrefix,
}: {
  spans: Span[];
  onChange: (spans: Span[]) => void;
  label: string;
  idPrefix: string;
}) {
  const { t } = useTranslation();
  const add = (weekday: Weekday) => {
    const day = spans.filter((s) => s.weekday === weekday);
    const last = day[day.length - 1];
    const next = last ? { weekday, from: last.until, until: last.until < "23:00" ? "23:00" : "23:59" } : { weekday, from: "09:00", until: "18:00" };
    onChange([...spans, next]);
  };
  const change = (span: Span, value: Partial<Span>) => onChange(spans.map((s) => (s === span ? { ...s, ...value } : s)));
  return (
    <fieldset className="week-hours" data-testid={`${idPrefix}-hours`}>
      <legend>{label}</legend>
      {WEEKDAYS.map((d) => {
        const day = spans.filter((s) => s.weekday === d);
        const name = weekdayName(d + 1, "long");
        return (
          <div className="week-day" key={d} data-weekday={d}>
            <span className="week-day-name">{name}</span>
            {day.length === 0 && <span className="muted small">{t("week.closed")}</span>}
            {day.map((s, i) => {
              const n = day.length > 1 ? ` (${i + 1})` : "";
              return (
                <span className="week-span" key={i}>
                  <input
                    type="time"
                    aria-label={t("week.from", { day: name }) + n}
                    value={s.from}
                    onChange={(e) => change(s, { from: e.target.value })}
                  />
                  –
                  <input
                    type="time"
                    aria-label={t("week.until", { day: name }) + n}
                    value={s.until}
                    onChange={(e) => change(s, { until: e.target.value })}
                  />
                  <button
                    type="button"
                    className="icon-button"
                    aria-label={t("week.remove", { day: name }) + n}
                    onClick={() => onChange(spans.filter((x) => x !== s))}
                  >
                    ×
                  </button>
                </span>
              );
            })}
            <button type="button" className="small link" aria-label={t("week.addFor", { day: name })} onClick={() => add(d)}>
              + {t("week.add")}
            </button>
          </div>
        );
      })}
    </fieldset>
  );
}
