/** The Reports page's "When the calls come" section: incoming calls by clinic-local hour
 * (a bar chart) and a weekday x hour heatmap (incoming calls or the missed share), CSV. */
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { analytics, type CallFilters, type WhenCell, type WhenReport } from "../api";
import { count as formatCount, share as formatShare, weekdayName } from "../format";
import { intlLocale } from "../i18n";
import { useLoad } from "../useLoad";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];
const HOURS = Array.from({ length: 24 }, (_, h) => h);
const hourLabel = (hour: number) => `${String(hour).padStart(2, "0")}:00`;

type CellView = "incoming" | "missed_share";

/** A cell's background: blue by incoming calls (of the busiest cell), red by missed share. */
function cellColour(cell: WhenCell, view: CellView, busiest: number): string | undefined {
  if (view === "incoming") {
    if (!cell.incoming || !busiest) return undefined;
    return `rgba(37, 99, 235, ${(0.1 + 0.8 * (cell.incoming / busiest)).toFixed(3)})`;
  }
  if (cell.missed_share === null) return undefined;
  return `rgba(220, 38, 38, ${(0.08 + 0.8 * cell.missed_share).toFixed(3)})`;
}

function HourChart({ report }: { report: WhenReport }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { t, i18n } = useTranslation();
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: report.by_hour.map((row) => hourLabel(row.hour)),
        datasets: [
          {
            label: t("whenReport.incoming"),
            data: report.by_hour.map((row) => row.incoming),
            backgroundColor: "#2563eb",
          },
          {
            label: t("whenReport.missed"),
            data: report.by_hour.map((row) => row.missed),
            backgroundColor: "#dc2626",
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        locale: intlLocale(),
        animation: false,
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "top" } },
      },
    });
    return () => chart.destroy();
  }, [report, t, i18n.language]);
  return (
    <div className="chart-box when-chart" data-testid="when-chart" data-points={report.by_hour.length}>
      <canvas ref={canvas} role="img" aria-label={t("whenReport.chartLabel")} />
    </div>
  );
}

function Heatmap({ report, view }: { report: WhenReport; view: CellView }) {
  const { t } = useTranslation();
  const cells = new Map(report.by_weekday_hour.map((c) => [`${c.weekday}-${c.hour}`, c]));
  const busiest = Math.max(0, ...report.by_weekday_hour.map((c) => c.incoming));
  return (
    <div className="table-wrap">
      <table className="data heatmap" data-testid="when-heatmap" data-view={view}>
        <caption>{t("whenReport.heatmap")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("whenReport.weekdayHeader")}</th>
            {HOURS.map((hour) => (
              <th scope="col" className="num" key={hour}>
                {String(hour).padStart(2, "0")}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {WEEKDAYS.map((weekday) => (
            <tr key={weekday}>
              <th scope="row">{weekdayName(weekday)}</th>
              {HOURS.map((hour) => {
                const cell = cells.get(`${weekday}-${hour}`) ?? { weekday, hour, incoming: 0, missed: 0, missed_share: null };
                const names = { weekday: weekdayName(weekday, "long"), hour: hourLabel(hour) };
                const title = cell.incoming
                  ? t("whenReport.cellTitle", {
                      ...names,
                      incoming: formatCount(cell.incoming),
                      missed: formatCount(cell.missed),
                      share: formatShare(cell.missed_share),
                    })
                  : t("whenReport.cellTitleEmpty", names);
                return (
                  <td
                    key={hour}
                    title={title}
                    data-weekday={weekday}
                    data-hour={hour}
                    data-incoming={cell.incoming}
                    data-missed={cell.missed}
                    style={{ background: cellColour(cell, view, busiest) }}
                  >
                    {view === "incoming"
                      ? cell.incoming
                        ? formatCount(cell.incoming)
                        : ""
                      : formatShare(cell.missed_share)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function ReportWhen({ filters }: { filters: CallFilters }) {
  const { t } = useTranslation();
  const { data: report, error } = useLoad(() => analytics.when(filters), [filters]);
  const [view, setView] = useState<CellView>("incoming");

  return (
    <section className="when-report" data-testid="when-report" aria-labelledby="when-report-title">
      <div className="page-head">
        <h2 id="when-report-title">{t("whenReport.title")}</h2>
        <div className="actions">
          <div className="segmented" role="group" aria-label={t("whenReport.show")}>
            <button type="button" aria-pressed={view === "incoming"} onClick={() => setView("incoming")}>
              {t("whenReport.incoming")}
            </button>
            <button type="button" aria-pressed={view === "missed_share"} onClick={() => setView("missed_share")}>
              {t("whenReport.missedShare")}
            </button>
          </div>
          <a className="button" href={analytics.whenCsvUrl(filters)} download="calls-by-weekday-hour.csv">
            {t("whenReport.exportCsv")}
          </a>
        </div>
      </div>
      <p className="muted">{t("whenReport.note")}</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <>
          <h3>{t("whenReport.byHour")}</h3>
          <HourChart report={report} />
          <Heatmap report={report} view={view} />
        </>
      )}
    </section>
  );
}
