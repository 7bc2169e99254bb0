/** The Reports page's service level section: the queue's KPIs per group, table and chart. */
import { useEffect, useRef } from "react";
import type { TFunction } from "i18next";
import { Chart, LineController, LineElement, PointElement } from "chart.js";
import { analytics, type CallFilters, type ReportGrouping, type ServiceLevelReport, type ServiceLevelRow } from "../api";
import { useTranslation } from "react-i18next";
import { count, duration, percent } from "../format";
import { intlLocale } from "../i18n";
import { useLoad } from "../useLoad";
import { type Directory } from "../session";
import { groupLabel, timeAxis, wallClock } from "./Reports";

Chart.register(LineController, LineElement, PointElement);

type Figure = (value: number | null | undefined) => string;
type Kpi =
  | "incoming"
  | "answer_rate"
  | "abandonment_rate"
  | "service_level"
  | "avg_speed_of_answer_seconds"
  | "p90_speed_of_answer_seconds"
  | "callback_rate"
  | "median_callback_delay_seconds";

/** The table's columns, each headed by `serviceLevel.column.<key>`. */
const COLUMNS: { key: Kpi; show: Figure }[] = [
  { key: "incoming", show: count },
  { key: "answer_rate", show: percent },
  { key: "abandonment_rate", show: percent },
  { key: "service_level", show: percent },
  { key: "avg_speed_of_answer_seconds", show: duration },
  { key: "p90_speed_of_answer_seconds", show: duration },
  { key: "callback_rate", show: percent },
  { key: "median_callback_delay_seconds", show: duration },
];

/** The chart's lines, each named by `serviceLevel.series.<key>`. */
const SERIES = [
  { key: "service_level", colour: "#2563eb" },
  { key: "answer_rate", colour: "#16a34a" },
  { key: "abandonment_rate", colour: "#dc2626" },
] as const;

/** `answered within 20 sec; Central: 15 sec` — the default target, then each clinic's own. */
function targetText(report: ServiceLevelReport, dir: Directory, t: TFunction): string {
  const within = (seconds: number) => t("serviceLevel.answeredWithin", { time: duration(seconds) });
  const clinics = Object.entries(report.targets.clinics).map(
    ([clinicId, seconds]) => `${dir.clinic(clinicId)?.name ?? clinicId}: ${duration(seconds)}`,
  );
  return [within(report.targets.default_seconds), ...(clinics.length ? [clinics.join(", ")] : [])].join("; ");
}

function KpiChart({ report, dir }: { report: ServiceLevelReport; dir: Directory }) {
  const { t, i18n } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const groupBy = report.group_by;
    const onTimeAxis = groupBy === "day" || groupBy === "hour";
    const series = (key: keyof ServiceLevelRow) =>
      report.rows.map((r, i) => {
        const value = r[key];
        const y = typeof value === "number" ? Math.round(value * 1000) / 10 : null;
        return onTimeAxis ? { x: wallClock(r) ?? i, y } : y;
      });
    const chart = new Chart(canvas.current, {
      type: "line",
      data: {
        labels: onTimeAxis ? undefined : report.rows.map((r) => groupLabel(r, groupBy, dir, t)),
        datasets: SERIES.map((s) => ({
          label: t(`serviceLevel.series.${s.key}`),
          data: series(s.key) as never,
          borderColor: s.colour,
          spanGaps: false,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        // Chart.js formats the axis numbers with this locale.
        locale: intlLocale(),
        animation: false,
        scales: {
          x: onTimeAxis ? timeAxis(groupBy) : { ticks: { autoSkip: true, maxRotation: 60 } },
          y: { min: 0, max: 100, title: { display: true, text: t("serviceLevel.axis") } },
        },
      },
    });
    return () => chart.destroy();
  }, [report, dir, t, i18n.language]);
  return (
    <div className="chart-box" data-testid="kpi-chart">
      <canvas ref={canvas} role="img" aria-label={t("serviceLevel.chartLabel")} />
    </div>
  );
}

export default function ReportKpis({ groupBy, filters, dir }: { groupBy: ReportGrouping; filters: CallFilters; dir: Directory }) {
  const { t } = useTranslation();
  const { data: report, error } = useLoad(() => analytics.serviceLevel(groupBy, filters), [groupBy, filters]);

  return (
    <section className="kpis" aria-labelledby="kpi-title">
      <div className="page-head">
        <h2 id="kpi-title">{t("serviceLevel.title")}</h2>
        <a className="button" href={analytics.serviceLevelCsvUrl(groupBy, filters)} download={`service-level-${groupBy}.csv`}>
          {t("common.exportCsv")}
        </a>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {report && report.group_by === groupBy && (
        <>
          <p className="hint" data-testid="kpi-targets">
            {t("serviceLevel.targets", { targets: targetText(report, dir, t) })}
          </p>
          <KpiChart report={report} dir={dir} />
          <div className="table-wrap">
            <table className="data report" data-testid="kpi-table">
              <thead>
                <tr>
                  <th scope="col">{t(`reports.groupHeader.${groupBy}`)}</th>
                  {COLUMNS.map((c) => (
                    <th scope="col" className="num" key={c.key}>
                      {t(`serviceLevel.column.${c.key}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {report.rows.map((row, i) => (
                  <tr key={i}>
                    <th scope="row">{groupLabel(row, groupBy, dir, t)}</th>
                    {COLUMNS.map((c) => (
                      <td className="num" key={c.key} data-column={c.key}>
                        {c.show(row[c.key] as number | null | undefined)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
