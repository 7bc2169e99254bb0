/** Calls report: table and bar chart, four groupings, the call log's filters, CSV. */
import { useEffect, useMemo, useRef, useState } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  TimeScale,
  Tooltip,
} from "chart.js";
import "chartjs-adapter-luxon";
import { analytics, type CallsReport, type ReportDid, type ReportGrouping, type ReportRow } from "../api";
import CallFiltersBar, { initialFilters, toCallFilters, type FilterState } from "../components/CallFiltersBar";
import { calendarDay, calendarMonth, count as formatCount, duration } from "../format";
import { intlLocale } from "../i18n";
import { useLoad } from "../useLoad";
import { useDirectory, type Directory } from "../session";
import ReportKpis from "./ReportKpis";
import ReportConversion from "./ReportConversion";
import ReportWhen from "./ReportWhen";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, TimeScale, Tooltip, Legend);

const GROUPINGS: ReportGrouping[] = ["day", "hour", "employee_day", "employee_month", "did"];

const TYPES = ["incoming", "outgoing", "internal", "total"] as const;
const COLOURS: Record<string, string> = { incoming: "#2563eb", outgoing: "#16a34a", internal: "#a855f7" };

/** Reads `incoming_count`, `incoming.count` or `{incoming: {count}}` alike. */
function figure(row: ReportRow, kind: string, name: string): number | null {
  const nested = row[kind];
  const candidates = [
    row[`${kind}_${name}`],
    row[`${kind}.${name}`],
    nested && typeof nested === "object" ? (nested as Record<string, unknown>)[name] : undefined,
  ];
  if (name === "count" && typeof nested === "number") candidates.push(nested);
  for (const c of candidates) if (typeof c === "number") return c;
  return null;
}

const count = (row: ReportRow, kind: string) => figure(row, kind, "count");
const avgTalk = (row: ReportRow, kind: string) =>
  figure(row, kind, "avg_talk_seconds") ?? figure(row, kind, "average_talk_seconds") ?? figure(row, kind, "avg_talk");
const missed = (row: ReportRow) =>
  (typeof row.missed_count === "number" ? row.missed_count : null) ??
  (typeof row.missed === "number" ? row.missed : null) ??
  figure(row, "total", "missed") ??
  figure(row, "total", "missed_count") ??
  figure(row, "missed", "count");
const avgWait = (row: ReportRow) =>
  (typeof row.avg_wait_seconds === "number" ? row.avg_wait_seconds : null) ??
  figure(row, "total", "avg_wait_seconds") ??
  figure(row, "missed", "avg_wait_seconds");

function employeeOf(row: ReportRow, dir: Directory, t: TFunction): string {
  const name = row.employee_name ?? row.admin_name ?? row.operator_name;
  if (typeof name === "string" && name) return name;
  const id = row.admin_id ?? row.employee ?? row.admin ?? row.operator_id ?? row.employee_id;
  return id ? dir.operatorName(String(id)) : t("reports.unassigned");
}

function hourOf(row: ReportRow): string {
  const h = row.hour;
  if (typeof h === "number") return `${String(h).padStart(2, "0")}:00`;
  if (typeof h === "string") return h.length <= 2 ? `${h.padStart(2, "0")}:00` : h.slice(11, 16) || h;
  return "";
}

/** The label of a row's group: its day, hour, employee and month as they apply. */
export function groupLabel(row: ReportRow, groupBy: ReportGrouping, dir: Directory, t: TFunction): string {
  const dayValue = calendarDay(String(row.day ?? row.date ?? "").slice(0, 10));
  const monthValue = calendarMonth(String(row.month ?? row.day ?? row.date ?? "").slice(0, 7));
  switch (groupBy) {
    case "day":
      return dayValue;
    case "hour":
      return [row.day ?? row.date ? dayValue : "", hourOf(row)].filter(Boolean).join(" ");
    case "employee_day":
      return `${employeeOf(row, dir, t)} · ${dayValue}`;
    case "employee_month":
      return `${employeeOf(row, dir, t)} · ${monthValue}`;
    case "did": {
      // The number's description (what it advertises), else the number itself.
      const description = typeof row.did_description === "string" ? row.did_description : "";
      return description || (typeof row.did === "string" ? row.did : "") || t("reports.noDid");
    }
  }
}

/**
 * A day or hour row's clinic-local wall-clock time as a number for the time axis. The
 * report's times are clinic-local; the axis reads them as UTC (and shows them in UTC), so
 * that every day is as wide as the next whatever the browser's own zone and its DST.
 */
export function wallClock(row: ReportRow): number | null {
  const day = typeof row.day === "string" ? row.day : null;
  if (!day) return null;
  const [y, m, d] = day.split("-").map(Number);
  const hour = typeof row.hour === "number" ? row.hour : 0;
  return Date.UTC(y, m - 1, d, hour);
}

/**
 * The time axis of a report by day or by hour, in the current language: the adapter's
 * Luxon dates take the locale, so `d MMM` reads `2 Feb` or `2 февр.` (and tooltips the
 * language's own medium date). Charts call it when they draw, and draw again when the
 * language changes.
 */
export function timeAxis(groupBy: "day" | "hour") {
  return {
    type: "time" as const,
    adapters: { date: { zone: "UTC", locale: intlLocale() } },
    time: {
      unit: groupBy,
      tooltipFormat: groupBy === "day" ? "DD" : "DD, HH:00",
      displayFormats: { day: "d MMM", hour: "d MMM HH:00" },
    },
  };
}

function ReportChart({ report, dir }: { report: CallsReport; dir: Directory }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const { t, i18n } = useTranslation();
  useEffect(() => {
    if (!canvas.current) return;
    const groupBy = report.group_by ?? "day";
    // By day and by hour the API lists every bucket of the period (zero without calls):
    // a real time axis, so a quiet day is a gap at its place, not a missing label.
    const onTimeAxis = groupBy === "day" || groupBy === "hour";
    const labels = onTimeAxis ? undefined : report.items.map((r) => groupLabel(r, groupBy, dir, t));
    const datasets = (["incoming", "outgoing", "internal"] as const).map((kind) => ({
      label: t(`callType.${kind}`),
      data: onTimeAxis
        ? report.items.map((r) => ({ x: wallClock(r) ?? 0, y: count(r, kind) ?? 0 }))
        : report.items.map((r) => count(r, kind) ?? 0),
      backgroundColor: COLOURS[kind],
      stack: "calls",
      maxBarThickness: 56,
    }));
    const x = onTimeAxis
      ? {
          ...timeAxis(groupBy),
          stacked: true,
          offset: true,
          ticks: { autoSkip: true, maxRotation: 60, source: "auto" as const },
        }
      : { stacked: true, ticks: { autoSkip: true, maxRotation: 60 } };
    chart.current?.destroy();
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: labels ? { labels, datasets } : { datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        // Chart.js formats the axis numbers with this locale.
        locale: intlLocale(),
        animation: false,
        scales: {
          x,
          y: { stacked: true, beginAtZero: true, title: { display: true, text: t("reports.calls") }, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "top" } },
      },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [report, dir, t, i18n.language]);
  return (
    <div
      className="chart-box"
      data-testid="report-chart"
      data-group-by={report.group_by}
      data-x-axis={report.group_by === "day" || report.group_by === "hour" ? "time" : "category"}
      data-points={report.items.length}
    >
      <canvas
        ref={canvas}
        role="img"
        aria-label={t("reports.chartLabel", { grouping: t(`reports.grouping.${report.group_by ?? "day"}`) })}
      />
    </div>
  );
}

function ReportTable({ report, dir }: { report: CallsReport; dir: Directory }) {
  const { t } = useTranslation();
  const groupBy = report.group_by ?? "day";
  const rows = report.totals ? [...report.items, report.totals] : report.items;
  return (
    <div className="table-wrap">
      <table className="data report" data-testid="report-table" data-group-by={groupBy}>
        <thead>
          <tr>
            <th scope="col" rowSpan={2}>
              {t(`reports.groupHeader.${groupBy}`)}
            </th>
            {TYPES.map((kind) => (
              <th scope="colgroup" colSpan={2} key={kind}>
                {t(kind === "total" ? "reports.total" : `callType.${kind}`)}
              </th>
            ))}
            <th scope="colgroup" colSpan={2}>
              {t("reports.missed")}
            </th>
          </tr>
          <tr>
            {TYPES.map((kind) => [
              <th scope="col" className="num" key={`${kind}-n`}>
                {t("reports.calls")}
              </th>,
              <th scope="col" className="num" key={`${kind}-t`}>
                {t("reports.avgTalk")}
              </th>,
            ])}
            <th scope="col" className="num">
              {t("reports.calls")}
            </th>
            <th scope="col" className="num">
              {t("reports.avgWait")}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr
              key={i}
              className={report.totals && i === rows.length - 1 ? "totals" : undefined}
              data-empty={count(row, "total") === 0 ? "true" : undefined}
            >
              <th scope="row">{report.totals && i === rows.length - 1 ? t("reports.total") : groupLabel(row, groupBy, dir, t)}</th>
              {TYPES.map((kind) => [
                <td className="num" key={`${kind}-n`}>
                  {formatCount(count(row, kind))}
                </td>,
                <td className="num" key={`${kind}-t`}>
                  {duration(avgTalk(row, kind))}
                </td>,
              ])}
              <td className="num">{formatCount(missed(row))}</td>
              <td className="num">{duration(avgWait(row))}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={11} className="empty">
                {t("reports.empty")}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export default function ReportsPage() {
  const dir = useDirectory();
  const { t } = useTranslation();
  const zone = dir.clinics[0]?.time_zone ?? "UTC";
  const [groupBy, setGroupBy] = useState<ReportGrouping>("day");
  const [view, setView] = useState<"table" | "chart">("table");
  const [filters, setFilters] = useState<FilterState>(initialFilters);
  const [dids, setDids] = useState<ReportDid[]>([]);
  const [did, setDid] = useState("");
  const apiFilters = useMemo(
    () => ({ ...toCallFilters(filters), dids: did ? [did] : [] }),
    [filters, zone, did],
  );

  useEffect(() => {
    analytics
      .dids()
      .then(setDids)
      .catch(() => setDids([]));
  }, []);

  const { data: report, error, loading } = useLoad(() => analytics.report(groupBy, apiFilters), [groupBy, apiFilters]);

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("reports.title")}</h1>
        <div className="actions">
          <div className="segmented" role="group" aria-label={t("reports.view")}>
            <button type="button" aria-pressed={view === "table"} onClick={() => setView("table")}>
              {t("reports.table")}
            </button>
            <button type="button" aria-pressed={view === "chart"} onClick={() => setView("chart")}>
              {t("reports.chart")}
            </button>
          </div>
          <a className="button" href={analytics.reportCsvUrl(groupBy, apiFilters)} download={`calls-report-${groupBy}.csv`}>
            {t("common.exportCsv")}
          </a>
        </div>
      </div>
      <div className="segmented groupings" role="group" aria-label={t("reports.groupBy")}>
        {GROUPINGS.map((g) => (
          <button key={g} type="button" aria-pressed={groupBy === g} onClick={() => setGroupBy(g)}>
            {t(`reports.grouping.${g}`)}
          </button>
        ))}
      </div>
      <CallFiltersBar value={filters} timeZone={zone} onChange={setFilters} showSearch={false} />
      <label className="did-filter">
        {t("reports.didFilter")}{" "}
        <select data-testid="report-did-filter" value={did} onChange={(e) => setDid(e.target.value)}>
          <option value="">{t("reports.allDids")}</option>
          {dids.map((d) => (
            <option key={d.did} value={d.did}>
              {d.description ? `${d.description} (${d.did})` : d.did}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div aria-busy={loading}>
        {report && report.group_by === groupBy && (view === "table" ? <ReportTable report={report} dir={dir} /> : <ReportChart report={report} dir={dir} />)}
      </div>
      <ReportKpis groupBy={groupBy} filters={apiFilters} dir={dir} />
      <ReportWhen filters={apiFilters} />
      <ReportConversion filters={apiFilters} />
    </div>
  );
}
