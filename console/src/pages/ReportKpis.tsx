/** The Reports page's service level section: the queue's KPIs per group, table and chart. */
import { useEffect, useRef, useState } from "react";
import { Chart, LineController, LineElement, PointElement } from "chart.js";
import { analytics, type CallFilters, type ReportGrouping, type ServiceLevelReport, type ServiceLevelRow } from "../api";
import { useTranslation } from "react-i18next";
import { duration } from "../format";
import { type Directory } from "../session";
import { groupLabel, wallClock } from "./Reports";

Chart.register(LineController, LineElement, PointElement);

const percent = (value: number | null | undefined) =>
  typeof value === "number" ? `${(value * 100).toFixed(1)} %` : "";

const COLUMNS: { key: keyof ServiceLevelRow; label: string; show: (v: number | null | undefined) => string }[] = [
  { key: "incoming", label: "Incoming", show: (v) => (typeof v === "number" ? String(v) : "") },
  { key: "answer_rate", label: "Answer rate", show: percent },
  { key: "abandonment_rate", label: "Abandoned", show: percent },
  { key: "service_level", label: "Service level", show: percent },
  { key: "avg_speed_of_answer_seconds", label: "Avg speed of answer", show: duration },
  { key: "p90_speed_of_answer_seconds", label: "90th pct speed of answer", show: duration },
  { key: "callback_rate", label: "Called back", show: percent },
  { key: "median_callback_delay_seconds", label: "Median call-back delay", show: duration },
];

function targetText(report: ServiceLevelReport): string {
  const others = Object.entries(report.targets.clinics);
  const base = `answered within ${report.targets.default_seconds} s`;
  return others.length ? `${base}; ${others.map(([c, s]) => `${c}: ${s} s`).join(", ")}` : base;
}

function KpiChart({ report, dir }: { report: ServiceLevelReport; dir: Directory }) {
  const { t } = useTranslation();
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
        datasets: [
          { label: "Service level %", data: series("service_level") as never, borderColor: "#2563eb", spanGaps: false },
          { label: "Answer rate %", data: series("answer_rate") as never, borderColor: "#16a34a", spanGaps: false },
          { label: "Abandoned %", data: series("abandonment_rate") as never, borderColor: "#dc2626", spanGaps: false },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: onTimeAxis
            ? { type: "time", adapters: { date: { zone: "UTC" } }, time: { unit: groupBy === "day" ? "day" : "hour" } }
            : { ticks: { autoSkip: true, maxRotation: 60 } },
          y: { min: 0, max: 100, title: { display: true, text: "% of incoming calls" } },
        },
      },
    });
    return () => chart.destroy();
  }, [report, dir]);
  return (
    <div className="chart-box" data-testid="kpi-chart">
      <canvas ref={canvas} role="img" aria-label="Line chart of service level, answer rate and abandonment" />
    </div>
  );
}

export default function ReportKpis({ groupBy, filters, dir }: { groupBy: ReportGrouping; filters: CallFilters; dir: Directory }) {
  const { t } = useTranslation();
  const [report, setReport] = useState<ServiceLevelReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    analytics
      .serviceLevel(groupBy, filters)
      .then((r) => live && (setReport(r), setError(null)))
      .catch((e: Error) => live && (setReport(null), setError(e.message)));
    return () => {
      live = false;
    };
  }, [groupBy, filters]);

  return (
    <section className="kpis" aria-labelledby="kpi-title">
      <div className="page-head">
        <h2 id="kpi-title">Service level</h2>
        <a className="button" href={analytics.serviceLevelCsvUrl(groupBy, filters)} download={`service-level-${groupBy}.csv`}>
          Export CSV
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
            Of incoming calls; service level: {targetText(report)}.
          </p>
          <KpiChart report={report} dir={dir} />
          <div className="table-wrap">
            <table className="data report" data-testid="kpi-table">
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  {COLUMNS.map((c) => (
                    <th scope="col" className="num" key={String(c.key)}>
                      {c.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {report.rows.map((row, i) => (
                  <tr key={i}>
                    <th scope="row">{groupLabel(row, groupBy, dir, t)}</th>
                    {COLUMNS.map((c) => (
                      <td className="num" key={String(c.key)} data-column={String(c.key)}>
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
