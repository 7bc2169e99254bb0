/** The frame of every page: navigation by role, the operator, their language, the live-call
 * connection, pop-ups. */
import { useTranslation } from "react-i18next";
import { NavLink, Outlet } from "react-router-dom";
import { useEffect, useState } from "react";
import { worklist } from "../api";
import { count as formatCount } from "../format";
import { chooseLanguage, currentLanguage, LANGUAGE_NAMES, LANGUAGES, type UiLanguage } from "../i18n";
import { NotifyProvider, useNotify } from "../notify";
import { can, DirectoryProvider, usePrincipal, useSession } from "../session";
import CurrentCallPanel from "./CurrentCallPanel";
import PopupOverlay from "./PopupOverlay";

function ConnectionBadge() {
  const { state } = useNotify();
  const { t } = useTranslation();
  return (
    <span className={`conn conn-${state}`} role="status" title={t("layout.connectionTitle")} data-testid="notify-state">
      <span className="conn-dot" aria-hidden="true" />
      {t(`layout.connection.${state}`)}
    </span>
  );
}

/** The call-back worklist's open count, read again whenever notify says it changed. */
function CallbacksCount() {
  const { worklistVersion } = useNotify();
  const { t } = useTranslation();
  const [open, setOpen] = useState<number | null>(null);
  useEffect(() => {
    let current = true;
    worklist
      .count()
      .then((c) => current && setOpen(c.open))
      .catch(() => current && setOpen(null));
    return () => {
      current = false;
    };
  }, [worklistVersion]);
  if (!open) return null;
  return (
    <span
      className="badge nav-count"
      data-testid="callbacks-count"
      aria-label={t("layout.callbacksWaiting", { count: open })}
    >
      {formatCount(open)}
    </span>
  );
}

/** The operator's language, remembered for them in this browser. */
function LanguageSwitcher({ operatorId }: { operatorId: string }) {
  const { t } = useTranslation();
  return (
    <select
      className="language"
      aria-label={t("layout.language")}
      value={currentLanguage()}
      onChange={(e) => chooseLanguage(operatorId, e.target.value as UiLanguage)}
    >
      {LANGUAGES.map((language) => (
        <option key={language} value={language} lang={language}>
          {LANGUAGE_NAMES[language]}
        </option>
      ))}
    </select>
  );
}

export default function Layout() {
  const principal = usePrincipal();
  const { logout } = useSession();
  const { t } = useTranslation();
  const links = [
    { to: "/calls", label: t("nav.calls"), show: can.readCallLog(principal.role) },
    { to: "/callbacks", label: t("nav.callbacks"), show: true, count: true },
    { to: "/reports", label: t("nav.reports"), show: can.readReports(principal.role) },
    { to: "/clients", label: t("nav.clients"), show: true },
    { to: "/booking", label: t("nav.booking"), show: true },
    { to: "/settings", label: t("nav.settings"), show: can.readDirectory(principal.role) },
  ].filter((l) => l.show);
  return (
    <DirectoryProvider>
      <NotifyProvider>
        <a className="skip-link" href="#main">
          {t("layout.skipToContent")}
        </a>
        <header className="topbar">
          <div className="brand">Switchboard</div>
          <nav aria-label={t("layout.mainNav")}>
            <ul className="nav">
              {links.map((l) => (
                <li key={l.to}>
                  <NavLink to={l.to} className={({ isActive }) => (isActive ? "active" : undefined)}>
                    {l.label}
                    {"count" in l && l.count && <CallbacksCount />}
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
          <div className="whoami">
            <ConnectionBadge />
            <span className="who" data-testid="whoami">
              <strong>{principal.name}</strong>
              <span className="muted">
                {t(`role.${principal.role}`)}
                {principal.extension ? ` · ${t("common.ext", { extension: principal.extension })}` : ""}
              </span>
            </span>
            <LanguageSwitcher operatorId={principal.operator_id} />
            <button type="button" onClick={() => void logout()}>
              {t("layout.logOut")}
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
        <CurrentCallPanel />
        <PopupOverlay />
      </NotifyProvider>
    </DirectoryProvider>
  );
}
