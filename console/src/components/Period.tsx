/** A period picker: presets and a from/to calendar, interpreted in one time zone. */
import { useTranslation } from "react-i18next";
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
  const { t } = useTranslation();
  return (
    <fieldset className="period">
      <legend>{t("period.legend")}</legend>
      <select
        aria-label={t("period.preset")}
        value={value.preset}
        onChange={(e) => onChange(presetPeriod(e.target.value, timeZone))}
      >
        <option value="all">{t("period.all")}</option>
        <option value="today">{t("period.today")}</option>
        <option value="yesterday">{t("period.yesterday")}</option>
        <option value="7d">{t("period.last7")}</option>
        <option value="30d">{t("period.last30")}</option>
        <option value="month">{t("period.month")}</option>
        <option value="custom">{t("period.custom")}</option>
      </select>
      <input
        type="date"
        aria-label={t("period.from")}
        value={value.from}
        max={value.to || undefined}
        onChange={(e) => onChange({ ...value, preset: "custom", from: e.target.value })}
      />
      <span aria-hidden="true">–</span>
      <input
        type="date"
        aria-label={t("period.to")}
        value={value.to}
        min={value.from || undefined}
        onChange={(e) => onChange({ ...value, preset: "custom", to: e.target.value })}
      />
    </fieldset>
  );
}
