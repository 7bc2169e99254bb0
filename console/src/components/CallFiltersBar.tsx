/** The call log's and the report's filters: period, call types, admins, search and the rest. */
import { useEffect, useState } from "react";
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

const CALL_TYPES: { value: CallType; label: string }[] = [
  { value: "incoming", label: "Incoming" },
  { value: "outgoing", label: "Outgoing" },
  { value: "internal", label: "Internal" },
];

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
    <div className="filters" role="search" aria-label="Call filters">
      <div className="filters-row">
        <Period value={value.period} timeZone={timeZone} onChange={(period) => set({ period })} />
        <fieldset className="toggles">
          <legend>Call types</legend>
          {CALL_TYPES.map((t) => (
            <button
              type="button"
              key={t.value}
              className={`toggle toggle-${t.value}`}
              aria-pressed={value.callTypes.includes(t.value)}
              onClick={() => toggleType(t.value)}
            >
              {t.label}
            </button>
          ))}
        </fieldset>
        <fieldset className="admins">
          <legend>Admins</legend>
          <div className="admin-picker">
            <select aria-label="Admin to add" value={adminChoice} onChange={(e) => setAdminChoice(e.target.value)}>
              <option value="">Any admin</option>
              {dir.operators
                .filter((o) => !value.admins.includes(o.operator_id))
                .map((o) => (
                  <option key={o.operator_id} value={o.operator_id}>
                    {o.name}
                  </option>
                ))}
            </select>
            <button type="button" aria-label="Add admin to the filter" onClick={addAdmin} disabled={!adminChoice}>
              +
            </button>
          </div>
          <ul className="chips" aria-label="Selected admins">
            {value.admins.map((id) => (
              <li key={id} className="chip">
                {dir.operatorName(id)}
                <button
                  type="button"
                  aria-label={`Remove ${dir.operatorName(id)}`}
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
            <span className="sr-only">Search calls</span>
            <input
              type="search"
              placeholder="Search numbers, contacts, admins…"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") set({ search });
              }}
            />
          </label>
        )}
        <label className="inline">
          Disposition
          <select value={value.disposition} onChange={(e) => set({ disposition: e.target.value as Disposition | "" })}>
            <option value="">Any</option>
            <option value="answered">Answered</option>
            <option value="missed">Missed</option>
            <option value="busy">Busy</option>
            <option value="failed">Failed</option>
          </select>
        </label>
        <label className="inline check">
          <input type="checkbox" checked={value.missedOnly} onChange={(e) => set({ missedOnly: e.target.checked })} />
          Missed only
        </label>
        <label className="inline check">
          <input
            type="checkbox"
            checked={value.calledBackOnly}
            onChange={(e) => set({ calledBackOnly: e.target.checked })}
          />
          Called back
        </label>
        <button type="button" className="link" aria-expanded={more} onClick={() => setMore(!more)}>
          {more ? "Fewer filters" : "More filters"}
        </button>
      </div>
      {more && (
        <div className="filters-row">
          <label className="inline">
            Phone contains
            <input value={value.phoneContains} onChange={(e) => set({ phoneContains: e.target.value })} size={12} />
          </label>
          <label className="inline">
            Talk (s) from
            <input type="number" min={0} value={value.talkMin} onChange={(e) => set({ talkMin: e.target.value })} />
          </label>
          <label className="inline">
            to
            <input type="number" min={0} value={value.talkMax} onChange={(e) => set({ talkMax: e.target.value })} />
          </label>
          <label className="inline">
            Total (s) from
            <input type="number" min={0} value={value.totalMin} onChange={(e) => set({ totalMin: e.target.value })} />
          </label>
          <label className="inline">
            to
            <input type="number" min={0} value={value.totalMax} onChange={(e) => set({ totalMax: e.target.value })} />
          </label>
          <button type="button" className="link" onClick={() => { setSearch(""); onChange(initialFilters()); }}>
            Clear all filters
          </button>
        </div>
      )}
    </div>
  );
}
