/** The Reports page's "Conversion" section: incoming calls → answered → with a touch →
 * with an appointment → cancelled, as a horizontal funnel for the whole filtered period
 * and a table per admin, clinic, DID, day or month; CSV. */
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import { analytics, type CallFilters, type ConversionFigures, type ConversionGroupBy, type ConversionReport, type ConversionRow } from "../api";
import { count as formatCount, share as formatShare } from "../format";
import { intlLocale } from "../i18n";
import { useLoad } from "../useLoad";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const GROUPINGS: ConversionGroupBy[] = ["admin", "clinic", "did", "day", "month"];
const STEPS = ["incoming", "answered", "with_touch", "with_appointment", "cancelled"] as const;
/** Each step's rate (of the step before); the first step has none. */
const STEP_RATES: Record<(typeof STEPS)[number], keyof ConversionFigures | null> = {
  incoming: null,
  answered: "answer_rate",
  with_touch: "touch_rate",
  with_appointment: "booking_rate",
  cancelled: "cancellation_rate",
};
const COLOURS = ["#2563eb", "#0891b2", "#7c3aed", "#16a34a", "#dc2626"];

function Funnel({ total }: { total: ConversionFigures }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { t, i18n } = useTranslation();
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: STEPS.map((step) => t(`conversionReport.steps.${step}`)),
        datasets: [{ label: t("conversionReport.title"), data: STEPS.map((step) => total[step]), backgroundColor: COLOURS }],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        locale: intlLocale(),
        animation: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => {
                const rate = STEP_RATES[STEPS[item.dataIndex]];
                const value = formatCount(item.parsed.x);
                return rate ? `${value} (${formatShare(total[rate] as number | null)})` : value;
              },
            },
          },
        },
      },
    });
    return () => chart.destroy();
  }, [total, t, i18n.language]);
  return (
    <div className="chart-box conversion-chart" data-testid="conversion-chart" data-points={STEPS.length}>
      <canvas ref={canvas} role="img" aria-label={t("conversionReport.chartLabel")} />
    </div>
  );
}

function groupName(row: ConversionRow, groupBy: ConversionGroupBy, none: string): string {
  if (groupBy === "admin") return row.admin_name || row.admin_id || none;
  if (groupBy === "clinic") return row.clinic_name || row.clinic_id || none;
  if (groupBy === "did") return row.did_description || row.did || none;
  return row[groupBy] || none;
}

function ConversionTable({ report }: { report: ConversionReport }) {
  const { t } = useTranslation();
  const none = t("conversionReport.noKey");
  return (
    <div className="table-wrap">
      <table className="data" data-testid="conversion-table">
        <thead>
          <tr>
            <th scope="col">{t(`conversionReport.grouping.${report.group_by}`)}</th>
            {STEPS.map((step) => (
              <th scope="col" className="num" key={step}>
                {t(`conversionReport.steps.${step}`)}
              </th>
            ))}
            <th scope="col" className="num">
              {t("conversionReport.conversionRate")}
            </th>
          </tr>
        </thead>
        <tbody>
          {report.rows.map((row) => (
            <tr key={groupName(row, report.group_by, "") || "-"}>
              <th scope="row">{groupName(row, report.group_by, none)}</th>
              {STEPS.map((step) => {
                const rate = STEP_RATES[step];
                return (
                  <td className="num" key={step} data-step={step}>
                    {formatCount(row[step])}
                    {rate && row[step] > 0 ? ` (${formatShare(row[rate] as number | null)})` : ""}
                  </td>
                );
              })}
              <td className="num">{formatShare(row.conversion_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function ReportConversion({ filters }: { filters: CallFilters }) {
  const { t } = useTranslation();
  const [groupBy, setGroupBy] = useState<ConversionGroupBy>("admin");
  const { data: report, error } = useLoad(() => analytics.conversion(groupBy, filters), [groupBy, filters]);

  return (
    <section className="conversion-report" data-testid="conversion-report" aria-labelledby="conversion-report-title">
      <div className="page-head">
        <h2 id="conversion-report-title">{t("conversionReport.title")}</h2>
        <div className="actions">
          <a className="button" href={analytics.conversionCsvUrl(groupBy, filters)} download={`conversion-${groupBy}.csv`}>
            {t("conversionReport.exportCsv")}
          </a>
        </div>
      </div>
      <p className="muted">{t("conversionReport.note")}</p>
      <div className="segmented groupings" role="group" aria-label={t("conversionReport.groupBy")}>
        {GROUPINGS.map((g) => (
          <button key={g} type="button" aria-pressed={groupBy === g} onClick={() => setGroupBy(g)}>
            {t(`conversionReport.grouping.${g}`)}
          </button>
        ))}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {report && report.total.incoming === 0 && <p className="muted">{t("conversionReport.empty")}</p>}
      {report && report.total.incoming > 0 && report.group_by === groupBy && (
        <>
          <Funnel total={report.total} />
          <ConversionTable report={report} />
          {report.truncated && <p className="muted">{t("conversionReport.truncated", { count: report.rows.length })}</p>}
        </>
      )}
    </section>
  );
}
