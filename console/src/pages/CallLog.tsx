/** The call log: every column of the analytics API, filters, playback, CSV, cursor pages. */
import { Fragment, useCallback, useEffect, useMemo, useState } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";
import { analytics, type CallLogRow } from "../api";
import CallButton from "../components/CallButton";
import CallFiltersBar, { initialFilters, toCallFilters, type FilterState } from "../components/CallFiltersBar";
import { dateTime, duration, phone, zoneLabel } from "../format";
import { intlLocale } from "../i18n";
import { useDirectory, type Directory } from "../session";

type ColumnKey =
  | "started_at"
  | "call_type"
  | "src"
  | "dst"
  | "disposition"
  | "admin"
  | "contact_name"
  | "talk_seconds"
  | "wait_seconds"
  | "total_seconds"
  | "tags"
  | "called_back"
  | "extension"
  | "clinic_id";

interface Column {
  /** The API field, and the header's key in `callLog.column`. */
  key: ColumnKey;
  sortKey?: string;
  numeric?: boolean;
  render: (row: CallLogRow, dir: Directory, t: TFunction) => React.ReactNode;
  /** Shown only once the API returns the field (issue 6 columns being added). */
  optional?: boolean;
}

/** A call party's number, with "Call" next to it when it is an outside number. */
function Party({ number }: { number: string }) {
  return (
    <span className="nowrap">
      {phone(number)} {number.startsWith("+") && <CallButton number={number} />}
    </span>
  );
}

const TYPE_ICON: Record<string, string> = { incoming: "↙", outgoing: "↗", internal: "↔" };

const COLUMNS: Column[] = [
  {
    key: "started_at",
    sortKey: "started_at",
    render: (row, dir, t) => {
      const tz = row.time_zone ?? dir.clinic(row.clinic_id)?.time_zone ?? "UTC";
      return (
        <span className="datetime">
          <span>{dateTime(row.started_at, tz)}</span>
          <span className="muted small">
            {tz !== "UTC" ? `${zoneLabel(tz)} · ` : ""}
            {t("callLog.utc", { time: dateTime(row.started_at, "UTC") })}
          </span>
        </span>
      );
    },
  },
  {
    key: "call_type",
    sortKey: "call_type",
    render: (row, _dir, t) => (
      <span className={`calltype calltype-${row.call_type}`}>
        <span aria-hidden="true">{TYPE_ICON[row.call_type] ?? ""}</span> {t(`callType.${row.call_type}`)}
      </span>
    ),
  },
  { key: "src", sortKey: "src", render: (row) => <Party number={row.src} /> },
  { key: "dst", sortKey: "dst", render: (row) => <Party number={row.dst} /> },
  {
    key: "disposition",
    sortKey: "disposition",
    render: (row, _dir, t) => (
      <span className={`disp disp-${row.disposition ?? "none"}`}>
        {row.disposition ? t(`disposition.${row.disposition}`) : ""}
      </span>
    ),
  },
  {
    key: "admin",
    sortKey: "admin",
    render: (row, dir) => row.admin_name ?? dir.operatorName(row.admin_id ?? row.admin),
  },
  {
    key: "contact_name",
    sortKey: "contact",
    optional: true,
    render: (row, _dir, t) =>
      row.contact_name ? (
        row.contact_id && row.contact_kind !== "lead" ? (
          <Link to={`/clients/${encodeURIComponent(row.contact_id)}`}>{row.contact_name}</Link>
        ) : (
          <span>
            {row.contact_name} {row.contact_kind === "lead" && <span className="badge badge-lead">{t("contact.lead")}</span>}
          </span>
        )
      ) : (
        ""
      ),
  },
  { key: "talk_seconds", sortKey: "talk_seconds", numeric: true, render: (r) => duration(r.talk_seconds) },
  { key: "wait_seconds", sortKey: "wait_seconds", numeric: true, render: (r) => duration(r.wait_seconds) },
  {
    key: "total_seconds",
    sortKey: "total_seconds",
    numeric: true,
    render: (r) => duration(r.total_seconds),
  },
  {
    key: "tags",
    sortKey: "tags",
    optional: true,
    render: (row) => (
      <span className="tags">
        {(row.tags ?? []).map((t) => (
          <span className="tag" key={t}>
            {t}
          </span>
        ))}
      </span>
    ),
  },
  {
    key: "called_back",
    sortKey: "called_back",
    optional: true,
    render: (row, _dir, t) =>
      row.called_back ? (
        <span title={t("callLog.calledBack")}>
          ✓
          {row.callback_delay_seconds != null
            ? ` ${t("callLog.calledBackAfter", { delay: duration(row.callback_delay_seconds) })}`
            : ""}
        </span>
      ) : row.disposition === "missed" && row.call_type === "incoming" ? (
        <span className="muted">{t("callLog.notYet")}</span>
      ) : (
        ""
      ),
  },
  { key: "extension", sortKey: "extension", render: (row) => row.extension ?? "" },
  {
    key: "clinic_id",
    sortKey: "clinic",
    render: (row, dir) => row.clinic_name ?? dir.clinic(row.clinic_id)?.name ?? row.clinic_id ?? "",
  },
];

export default function CallLogPage() {
  const dir = useDirectory();
  const { t } = useTranslation();
  const zone = dir.clinics[0]?.time_zone ?? "UTC";
  const [filters, setFilters] = useState<FilterState>(initialFilters);
  const [sort, setSort] = useState<string>("-started_at");
  const [pageSize, setPageSize] = useState(50);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [rows, setRows] = useState<CallLogRow[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const [refreshed, setRefreshed] = useState(0);
  const [loadedAt, setLoadedAt] = useState<Date | null>(null);

  const apiFilters = useMemo(() => toCallFilters(filters), [filters, zone]);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    let live = true;
    setLoading(true);
    analytics
      .calls(apiFilters, { cursor, limit: pageSize, sort })
      .then((page) => {
        if (!live) return;
        setRows(page.items);
        setNextCursor(page.next_cursor);
        setError(null);
        setLoadedAt(new Date());
      })
      .catch((e: Error) => live && setError(e.message))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [apiFilters, cursor, pageSize, sort, refreshed]);

  const changeFilters = useCallback((value: FilterState) => {
    setFilters(value);
    setCursors([null]);
  }, []);

  const refresh = () => {
    setCursors([null]);
    setRefreshed((n) => n + 1);
  };

  const columns = COLUMNS.filter((c) => !c.optional || rows.some((r) => r[c.key] !== undefined));
  const toggleSort = (key: string) => {
    setSort((s) => (s === key ? `-${key}` : key));
    setCursors([null]);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("callLog.title")}</h1>
        <div className="actions">
          <button type="button" onClick={refresh} disabled={loading}>
            ⟳ {t("common.refresh")}
          </button>
          <a className="button" href={analytics.callsCsvUrl(apiFilters, sort)} download="calls.csv">
            {t("common.exportCsv")}
          </a>
        </div>
      </div>
      <CallFiltersBar value={filters} timeZone={zone} onChange={changeFilters} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="table-wrap" aria-busy={loading}>
        <table className="data calls" data-testid="call-log">
          <thead>
            <tr>
              {columns.map((c) => {
                const active = sort === c.sortKey || sort === `-${c.sortKey}`;
                return (
                  <th
                    key={c.key}
                    className={c.numeric ? "num" : undefined}
                    aria-sort={active ? (sort.startsWith("-") ? "descending" : "ascending") : undefined}
                    scope="col"
                  >
                    {c.sortKey ? (
                      <button type="button" className="th-sort" onClick={() => toggleSort(c.sortKey!)}>
                        {t(`callLog.column.${c.key}`)}
                        {active ? (sort.startsWith("-") ? " ▼" : " ▲") : ""}
                      </button>
                    ) : (
                      t(`callLog.column.${c.key}`)
                    )}
                  </th>
                );
              })}
              <th scope="col">{t("callLog.recording")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <Fragment key={row.call_id}>
                <tr data-call-id={row.call_id}>
                  {columns.map((c) => (
                    <td key={c.key} className={c.numeric ? "num" : undefined}>
                      {c.render(row, dir, t)}
                    </td>
                  ))}
                  <td>
                    {row.recording ? (
                      <button
                        type="button"
                        className="small"
                        aria-expanded={playing === row.call_id}
                        aria-label={
                          playing === row.call_id
                            ? t("callLog.hideRecordingOf", { number: row.src })
                            : t("callLog.playRecordingOf", { number: row.src })
                        }
                        onClick={() => setPlaying(playing === row.call_id ? null : row.call_id)}
                      >
                        {playing === row.call_id ? `■ ${t("callLog.hide")}` : `▶ ${t("callLog.play")}`}
                      </button>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
                {playing === row.call_id && row.recording && (
                  <tr className="player-row">
                    <td colSpan={columns.length + 1}>
                      <audio controls autoPlay preload="metadata" src={row.recording} data-testid="recording-player">
                        <a href={row.recording}>{t("callLog.download")}</a>
                      </audio>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
            {!loading && rows.length === 0 && (
              <tr>
                <td colSpan={columns.length + 1} className="empty">
                  {t("callLog.empty")}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <button
          type="button"
          disabled={cursors.length <= 1 || loading}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          ← {t("callLog.newer")}
        </button>
        <span className="muted">
          {t("callLog.page", { page: cursors.length })}
          {loadedAt ? ` · ${t("callLog.updatedAt", { time: loadedAt.toLocaleTimeString(intlLocale()) })}` : ""}
        </span>
        <button
          type="button"
          disabled={!nextCursor || loading}
          onClick={() => setCursors((c) => [...c, nextCursor])}
        >
          {t("callLog.older")} →
        </button>
        <label className="inline">
          {t("callLog.rows")}
          <select
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value));
              setCursors([null]);
            }}
          >
            {[25, 50, 100, 200].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
    </div>
  );
}
