/** The call log's and the report's filters: period, call types, admins, search and the rest. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { CallFilters, CallType, Disposition } from "../api";
import { useDirectory } from "../session";
import Period, { type PeriodValue } from "./Period";

export interface FilterState {
  period: PeriodValue;
  callTypes: CallType[];
  admins: string[];
  search: string;
  disposition: Disposition | "";
  missedOnly: boolean;
  calledBackOnly: boolean;
  phoneContains: string;
  talkMin: string;
  talkMax: string;
  totalMin: string;
  totalMax: string;
}

export const initialFilters = (): FilterState => ({
  period: { preset: "all", from: "", to: "" },
  callTypes: [],
  admins: [],
  search: "",
  disposition: "",
  missedOnly: false,
  calledBackOnly: false,
  phoneContains: "",
  talkMin: "",
  talkMax: "",
  totalMin: "",
  totalMax: "",
});

const num = (text: string) => (text.trim() === "" || Number.isNaN(Number(text)) ? null : Number(text));

/** The API filters for a filter state. Dates go as dates: analytics reads them as whole
 * days in each call's clinic-local time (so every clinic's day is its own). */
export function toCallFilters(s: FilterState): CallFilters {
  return {
    from: s.period.from || undefined,
    to: s.period.to || undefined,
    callTypes: s.callTypes,
    admins: s.admins,
    search: s.search,
    dispositions: s.disposition ? [s.disposition] : [],
    missedOnly: s.missedOnly,
    calledBackOnly: s.calledBackOnly,
    phoneContains: s.phoneContains,
    talkMin: num(s.talkMin),
    talkMax: num(s.talkMax),
    totalMin: num(s.totalMin),
    totalMax: num(s.totalMax),
  };
}

const CALL_TYPES: CallType[] = ["incoming", "outgoing", "internal"];
const DISPOSITIONS: Disposition[] = ["answered", "missed", "busy", "failed"];

export default function CallFiltersBar({
  value,
  timeZone,
  onChange,
  showSearch = true,
}: {
  value: FilterState;
  timeZone: string;
  onChange: (value: FilterState) => void;
  showSearch?: boolean;
}) {
  const dir = useDirectory();
  const { t } = useTranslation();
  const [adminChoice, setAdminChoice] = useState("");
  const [search, setSearch] = useState(value.search);
  const [more, setMore] = useState(false);

  // The search box applies after a pause in typing (or at once on Enter).
  useEffect(() => {
    if (search === value.search) return;
    const t = window.setTimeout(() => onChange({ ...value, search }), 350);
    return () => window.clearTimeout(t);
  }, [search, value, onChange]);

  const set = (change: Partial<FilterState>) => onChange({ ...value, ...change });
  const toggleType = (t: CallType) =>
    set({ callTypes: value.callTypes.includes(t) ? value.callTypes.filter((x) => x !== t) : [...value.callTypes, t] });
  const addAdmin = () => {
    if (adminChoice && !value.admins.includes(adminChoice)) set({ admins: [...value.admins, adminChoice] });
    setAdminChoice("");
  };

  return (
    <div className="filters" role="search" aria-label={t("filters.label")}>
      <div className="filters-row">
        <Period value={value.period} timeZone={timeZone} onChange={(period) => set({ period })} />
        <fieldset className="toggles">
          <legend>{t("filters.callTypes")}</legend>
          {CALL_TYPES.map((type) => (
            <button
              type="button"
              key={type}
              className={`toggle toggle-${type}`}
              aria-pressed={value.callTypes.includes(type)}
              onClick={() => toggleType(type)}
            >
              {t(`callType.${type}`)}
            </button>
          ))}
        </fieldset>
        <fieldset className="admins">
          <legend>{t("filters.admins")}</legend>
          <div className="admin-picker">
            <select aria-label={t("filters.adminToAdd")} value={adminChoice} onChange={(e) => setAdminChoice(e.target.value)}>
              <option value="">{t("filters.anyAdmin")}</option>
              {dir.operators
                .filter((o) => !value.admins.includes(o.operator_id))
                .map((o) => (
                  <option key={o.operator_id} value={o.operator_id}>
                    {o.name}
                  </option>
                ))}
            </select>
            <button type="button" aria-label={t("filters.addAdmin")} onClick={addAdmin} disabled={!adminChoice}>
              +
            </button>
          </div>
          <ul className="chips" aria-label={t("filters.selectedAdmins")}>
            {value.admins.map((id) => (
              <li key={id} className="chip">
                {dir.operatorName(id)}
                <button
                  type="button"
                  aria-label={t("common.remove", { name: dir.operatorName(id) })}
                  onClick={() => set({ admins: value.admins.filter((a) => a !== id) })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        </fieldset>
      </div>
      <div className="filters-row">
        {showSearch && (
          <label className="search">
            <span className="sr-only">{t("filters.searchCalls")}</span>
            <input
              type="search"
              placeholder={t("filters.searchPlaceholder")}
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") set({ search });
              }}
            />
          </label>
        )}
        <label className="inline">
          {t("filters.disposition")}
          <select value={value.disposition} onChange={(e) => set({ disposition: e.target.value as Disposition | "" })}>
            <option value="">{t("common.any")}</option>
            {DISPOSITIONS.map((d) => (
              <option key={d} value={d}>
                {t(`disposition.${d}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline check">
          <input type="checkbox" checked={value.missedOnly} onChange={(e) => set({ missedOnly: e.target.checked })} />
          {t("filters.missedOnly")}
        </label>
        <label className="inline check">
          <input
            type="checkbox"
            checked={value.calledBackOnly}
            onChange={(e) => set({ calledBackOnly: e.target.checked })}
          />
          {t("filters.calledBack")}
        </label>
        <button type="button" className="link" aria-expanded={more} onClick={() => setMore(!more)}>
          {more ? t("filters.fewer") : t("filters.more")}
        </button>
      </div>
      {more && (
        <div className="filters-row">
          <label className="inline">
            {t("filters.phoneContains")}
            <input value={value.phoneContains} onChange={(e) => set({ phoneContains: e.target.value })} size={12} />
          </label>
          <label className="inline">
            {t("filters.talkFrom")}
            <input type="number" min={0} value={value.talkMin} onChange={(e) => set({ talkMin: e.target.value })} />
          </label>
          <label className="inline">
            {t("filters.to")}
            <input type="number" min={0} value={value.talkMax} onChange={(e) => set({ talkMax: e.target.value })} />
          </label>
          <label className="inline">
            {t("filters.totalFrom")}
            <input type="number" min={0} value={value.totalMin} onChange={(e) => set({ totalMin: e.target.value })} />
          </label>
          <label className="inline">
            {t("filters.to")}
            <input type="number" min={0} value={value.totalMax} onChange={(e) => set({ totalMax: e.target.value })} />
          </label>
          <button type="button" className="link" onClick={() => { setSearch(""); onChange(initialFilters()); }}>
            {t("filters.clear")}
          </button>
        </div>
      )}
    </div>
  );
}
