/** A period picker: presets and a from/to calendar, interpreted in one time zone. */
import { addDays, todayIn } from "../format";

export interface PeriodValue {
  preset: string;
  from: string; // YYYY-MM-DD, inclusive
  to: string; // YYYY-MM-DD, inclusive
}

export function presetPeriod(preset: string, timeZone: string): PeriodValue {
  const today = todayIn(timeZone);
  switch (preset) {
    case "today":
      return { preset, from: today, to: today };
    case "yesterday":
      return { preset, from: addDays(today, -1), to: addDays(today, -1) };
    case "7d":
      return { preset, from: addDays(today, -6), to: today };
    case "30d":
      return { preset, from: addDays(today, -29), to: today };
    case "month":
      return { preset, from: today.slice(0, 8) + "01", to: today };
    default:
      return { preset: "all", from: "", to: "" };
  }
}

export default function Period({
  value,
  timeZone,
  onChange,
}: {
  value: PeriodValue;
  timeZone: string;
  onChange: (value: PeriodValue) => void;
}) {
  return (
    <fieldset className="period">
      <legend>Period</legend>
      <select
        aria-label="Period preset"
        value={value.preset}
        onChange={(e) => onChange(presetPeriod(e.target.value, timeZone))}
      >
        <option value="all">All time</option>
        <option value="today">Today</option>
        <option value="yesterday">Yesterday</option>
        <option value="7d">Last 7 days</option>
        <option value="30d">Last 30 days</option>
        <option value="month">This month</option>
        <option value="custom">Custom…</option>
      </select>
      <input
        type="date"
        aria-label="From date"
        value={value.from}
        max={value.to || undefined}
        onChange={(e) => onChange({ ...value, preset: "custom", from: e.target.value })}
      />
      <span aria-hidden="true">–</span>
      <input
        type="date"
        aria-label="To date"
        value={value.to}
        min={value.from || undefined}
        onChange={(e) => onChange({ ...value, preset: "custom", to: e.target.value })}
      />
    </fieldset>
  );
}
